"""`aiops bench nab` runs NAB scoring on a data directory and prints the scoreboard."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

PROFILES = Path(__file__).resolve().parents[3] / "shared" / "data" / "nab" / "profiles.json"


def make_corpus(root: Path) -> None:
    """Two small labelled files: a clear level jump and a clear spike, in windows."""
    rng = np.random.default_rng(0)
    (root / "data" / "synthetic").mkdir(parents=True)
    windows = {}
    for name, anomaly in (("jump.csv", "jump"), ("spike.csv", "spike")):
        n = 1500
        v = 10 + rng.normal(size=n)
        if anomaly == "jump":
            v[1000:] += 15
        else:
            v[1000] += 40
        ts = np.datetime64("2015-01-01T00:00:00") + np.arange(n) * np.timedelta64(300, "s")
        lines = ["timestamp,value"] + [
            f"{str(t).replace('T', ' ')},{x:.4f}" for t, x in zip(ts, v, strict=True)
        ]
        (root / "data" / "synthetic" / name).write_text("\n".join(lines) + "\n")
        lo, hi = str(ts[950]).replace("T", " "), str(ts[1100]).replace("T", " ")
        windows[f"synthetic/{name}"] = [[f"{lo}.000000", f"{hi}.000000"]]
    (root / "combined_windows.json").write_text(json.dumps(windows))
    (root / "profiles.json").write_text(PROFILES.read_text())


def test_bench_nab_prints_our_scores_beside_the_published_ones(tmp_path: Path) -> None:
    """On two easy files the detector finds both windows and the table lists ARTime."""
    make_corpus(tmp_path / "nab")
    r = subprocess.run(
        [sys.executable, "-m", "aiops", "bench", "nab", "--data", str(tmp_path / "nab")],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert "ARTime" in r.stdout and "74.9" in r.stdout and "aiops (nab)" in r.stdout
    assert "windows found 2/2" in r.stdout


def test_bench_nab_defaults_to_shared_data_and_fails_clearly_without_it(tmp_path: Path) -> None:
    """Without --data and no ../shared/data/nab the command exits 2 and says where it looked."""
    work = tmp_path / "w"
    work.mkdir()
    r = subprocess.run(
        [sys.executable, "-m", "aiops", "bench", "nab"],
        capture_output=True, text=True, timeout=60, check=False, cwd=work,
    )
    assert r.returncode == 2 and "no NAB data" in r.stderr
