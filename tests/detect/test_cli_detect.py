"""`aiops detect FILE.csv` writes NAB's results format, one row per input row."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np


def aiops(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aiops", *args], cwd=cwd, capture_output=True, text=True,
        timeout=120, check=False,
    )


def write_series(path: Path, values: list[str]) -> None:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["timestamp", "value"])
        for i, v in enumerate(values):
            w.writerow([f"2014-07-01 {i // 60:02d}:{i % 60:02d}:00", v])


def series() -> list[str]:
    rng = np.random.default_rng(4)
    vals = [f"{10 + rng.normal():.4f}" for _ in range(400)]
    vals[300] = "60"
    vals[120] = "not-a-number"
    return vals


def test_detect_writes_same_rows_same_order_with_scores(tmp_path: Path) -> None:
    """-o output has timestamp,value,anomaly_score for every input row, in order."""
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    values = series()
    write_series(src, values)
    r = aiops("detect", str(src), "-o", str(out), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(out.open()))
    assert [row["value"] for row in rows] == values
    assert list(rows[0]) == ["timestamp", "value", "anomaly_score"]
    scores = [float(row["anomaly_score"]) for row in rows]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores[300] >= 0.9 and max(scores[:300]) < 0.9
    assert scores[120] == 0.0 and "1 rows without a numeric value" in r.stderr


def test_detect_without_output_writes_csv_to_stdout_and_no_progress_bar(tmp_path: Path) -> None:
    """Without -o the CSV goes to stdout; stderr (not a terminal) carries no progress bar."""
    src = tmp_path / "in.csv"
    write_series(src, series()[:50])
    r = aiops("detect", str(src), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "timestamp,value,anomaly_score" and len(lines) == 51
    assert "scoring" not in r.stderr


def test_detect_rejects_a_file_without_the_columns(tmp_path: Path) -> None:
    """A CSV lacking timestamp,value is refused with exit code 2 and a reason."""
    src = tmp_path / "bad.csv"
    src.write_text("time,val\n1,2\n")
    r = aiops("detect", str(src), cwd=tmp_path)
    assert r.returncode == 2 and "timestamp,value" in r.stderr
