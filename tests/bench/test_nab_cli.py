"""`aiops bench nab` runs NAB scoring on a data directory and prints the scoreboard."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

PROFILES = Path(__file__).resolve().parents[3] / "shared" / "data" / "nab" / "profiles.json"


CORPUS = (("jump.csv", "jump"), ("spike.csv", "spike"), ("quiet.csv", ""))


def make_corpus(root: Path, files: tuple[tuple[str, str], ...] = CORPUS) -> None:
    """Small labelled files: a clear level jump and a clear spike, in windows, and a
    quiet one."""
    rng = np.random.default_rng(0)
    (root / "data" / "synthetic").mkdir(parents=True)
    windows = {}
    for name, anomaly in files:
        n = 1500
        v = 10 + rng.normal(size=n)
        if anomaly == "jump":
            v[1000:] += 15
        elif anomaly == "spike":
            v[1000] += 40
        ts = np.datetime64("2015-01-01T00:00:00") + np.arange(n) * np.timedelta64(300, "s")
        lines = ["timestamp,value"] + [
            f"{str(t).replace('T', ' ')},{x:.4f}" for t, x in zip(ts, v, strict=True)
        ]
        (root / "data" / "synthetic" / name).write_text("\n".join(lines) + "\n")
        lo, hi = str(ts[950]).replace("T", " "), str(ts[1100]).replace("T", " ")
        windows[f"synthetic/{name}"] = [[f"{lo}.000000", f"{hi}.000000"]] if anomaly else []
    (root / "combined_windows.json").write_text(json.dumps(windows))
    (root / "profiles.json").write_text(PROFILES.read_text())


def test_bench_nab_prints_our_scores_beside_the_published_ones(tmp_path: Path) -> None:
    """On two easy files the default finds both windows, stays silent on the quiet one,
    and the table lists ARTime and the other presets as variants."""
    make_corpus(tmp_path / "nab")
    r = subprocess.run(
        [sys.executable, "-m", "aiops", "bench", "nab", "--data", str(tmp_path / "nab")],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert "ARTime" in r.stdout and "74.9" in r.stdout and "aiops (default)" in r.stdout
    assert "aiops (classic, variant)" in r.stdout
    assert "windows found 2/2" in r.stdout
    assert "no labelled anomalies: synthetic/quiet.csv: 0 false positives" in r.stdout


def test_split_scores_one_held_out_half(tmp_path: Path) -> None:
    """--split A and B score disjoint halves (files alternate); a bad half exits 2."""
    make_corpus(tmp_path / "nab")
    a = _bench(tmp_path, "--split", "A", "--no-variants")
    b = _bench(tmp_path, "--split", "B", "--no-variants")
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    assert "half A (2 files)" in a.stdout and "half B (1 files)" in b.stdout
    assert "windows found 2/2" in a.stdout and "quiet.csv" not in a.stdout
    assert "quiet.csv: 0 false positives" in b.stdout and "jump" not in b.stdout
    bad = _bench(tmp_path, "--split", "C")
    assert bad.returncode == 2 and "expected A or B" in bad.stderr


def test_bench_nab_defaults_to_shared_data_and_fails_clearly_without_it(tmp_path: Path) -> None:
    """Without --data and no ../shared/data/nab the command exits 2 and says where it looked."""
    work = tmp_path / "w"
    work.mkdir()
    r = subprocess.run(
        [sys.executable, "-m", "aiops", "bench", "nab"],
        capture_output=True, text=True, timeout=60, check=False, cwd=work,
    )
    assert r.returncode == 2 and "no NAB data" in r.stderr


def _bench(tmp_path: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aiops", "bench", "nab", "--data", str(tmp_path / "nab"), *args],
        capture_output=True, text=True, timeout=timeout, check=False, cwd=tmp_path,
    )


def test_sweep_scores_each_value_of_one_setting(tmp_path: Path) -> None:
    """--sweep prints one row per value; a detector that never warms up finds nothing."""
    make_corpus(tmp_path / "nab")
    r = _bench(tmp_path, "--sweep", "warmup=30,5000")
    assert r.returncode == 0, r.stderr
    rows = [line for line in r.stdout.splitlines() if line.startswith("│")]
    assert len(rows) == 2
    assert [r.split("│")[1].strip() for r in rows] == ["warmup", "warmup"]
    assert rows[0].split("│")[2].strip() == "30" and "2/2" in rows[0]
    assert rows[1].split("│")[2].strip() == "5000" and "0/2" in rows[1]


def test_set_overrides_a_setting_and_rejects_bad_ones_clearly(tmp_path: Path) -> None:
    """--set changes the run; an unknown key or a bad value exits 2 naming it."""
    make_corpus(tmp_path / "nab")
    cold = _bench(tmp_path, "--set", "warmup=5000")
    assert cold.returncode == 0, cold.stderr
    assert "windows found 0/2" in cold.stdout
    unknown = _bench(tmp_path, "--set", "nope=1")
    assert unknown.returncode == 2 and "--set nope: not a detect setting" in unknown.stderr
    bad = _bench(tmp_path, "--set", "episode_min=-3")
    assert bad.returncode == 2 and "--set episode_min" in bad.stderr
    shape = _bench(tmp_path, "--sweep", "episode_min")
    assert shape.returncode == 2 and "expected KEY=VALUE" in shape.stderr


def test_sweep_main_scores_each_main_setting_at_half_and_one_and_a_half(tmp_path: Path) -> None:
    """--sweep main prints the configured row, two rows per main setting and a flatness
    verdict that agrees with the largest loss in the table."""
    from aiops.cli.cmd_detect import FLAT_LOSS, MAIN_SETTINGS

    make_corpus(tmp_path / "nab", files=CORPUS[:1])  # 23 NAB runs: one file keeps it cheap
    r = _bench(tmp_path, "--sweep", "main", timeout=600)
    assert r.returncode == 0, r.stderr
    rows = [line.split("│")[1:-1] for line in r.stdout.splitlines() if line.startswith("│")]
    assert rows[0][0].strip() == "(as configured)"
    assert [c[0].strip() for c in rows[1:]] == [k for k in MAIN_SETTINGS for _ in (0, 1)]
    deltas = [float(c[2].split("(")[1].rstrip(") ")) for c in rows[1:]]
    worst = max(0.0, -min(deltas))
    verdict = next(line for line in r.stdout.splitlines() if "largest loss" in line)
    assert verdict.startswith("flat:" if worst <= FLAT_LOSS else "NOT flat:")
    assert f"{worst:.1f} points" in verdict
