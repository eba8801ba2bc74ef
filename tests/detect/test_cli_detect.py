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
    """-o output has every input row, in order; anomaly_score marks the episode start."""
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    values = series()
    write_series(src, values)
    r = aiops("detect", str(src), "-o", str(out), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(out.open()))
    assert [row["value"] for row in rows] == values
    assert list(rows[0]) == ["timestamp", "value", "anomaly_score", "score", "expected",
                             "lower", "upper", "episode"]
    scores = [float(row["score"]) for row in rows]
    reported = [float(row["anomaly_score"]) for row in rows]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores[300] >= 0.9 and max(scores[:300]) < 0.9
    # The spike starts an episode: reported there with its score, and only at starts.
    assert rows[300]["episode"] == "start" and reported[300] == scores[300]
    assert all(r == 0.0 for r, row in zip(reported, rows, strict=True)
               if row["episode"] != "start")
    assert scores[120] == 0.0 and "1 rows without a numeric value" in r.stderr


def test_detect_ends_with_a_summary_of_the_episodes(tmp_path: Path) -> None:
    """stderr lists each episode with its start, end, reported and peak score."""
    src = tmp_path / "in.csv"
    write_series(src, series())
    r = aiops("detect", str(src), "-o", str(tmp_path / "out.csv"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "400 rows," in r.stderr and "anomaly episodes" in r.stderr
    assert "2014-07-01 05:00:00 .." in r.stderr and "peak" in r.stderr


def test_detect_draws_a_png_with_nab_windows(tmp_path: Path) -> None:
    """--png writes a PNG; --labels takes the file's windows from combined_windows.json."""
    src, png = tmp_path / "data" / "synthetic" / "in.csv", tmp_path / "out.png"
    src.parent.mkdir(parents=True)
    write_series(src, series())
    labels = tmp_path / "combined_windows.json"
    labels.write_text('{"synthetic/in.csv": [["2014-07-01 04:50:00.000000", '
                      '"2014-07-01 05:10:00.000000"]]}')
    r = aiops("detect", str(src), "-o", str(tmp_path / "o.csv"), "--png", str(png),
              "--labels", str(labels), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    head = png.read_bytes()[:8]
    assert head == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    assert "has no windows" not in r.stderr


def test_detect_without_output_writes_csv_to_stdout_and_no_progress_bar(tmp_path: Path) -> None:
    """Without -o the CSV goes to stdout; stderr (not a terminal) carries no progress bar."""
    src = tmp_path / "in.csv"
    write_series(src, series()[:50])
    r = aiops("detect", str(src), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("timestamp,value,anomaly_score,score") and len(lines) == 51
    assert "scoring" not in r.stderr


def test_detect_rejects_a_file_without_the_columns(tmp_path: Path) -> None:
    """A CSV lacking timestamp,value is refused with exit code 2 and a reason."""
    src = tmp_path / "bad.csv"
    src.write_text("time,val\n1,2\n")
    r = aiops("detect", str(src), cwd=tmp_path)
    assert r.returncode == 2 and "timestamp,value" in r.stderr
