"""Numenta Anomaly Benchmark scoring, implemented from NAB's published description.

Per file: the first 15% of points (at most 750) are probation, never scored. Points in
a labelled window score as true positives with a scaled sigmoid of their position
(earliest ~ +1 x TP weight); only the earliest detection per window counts; a window
without one costs the FN weight. Detections outside windows are false positives,
weighted by the FP weight and by the sigmoid of their distance past the preceding
window. Per profile, one threshold for the whole corpus is chosen to maximize the raw
total, normalized as ``100 * (raw - null) / (perfect - null)``.

>>> f = NabFile(name="x.csv", timestamps=np.arange(100).astype("datetime64[s]"),
...             values=np.zeros(100), windows=((40, 49),))
>>> perfect = np.zeros(100); perfect[40] = 1.0
>>> round(score_corpus([f], [perfect], STANDARD).normalized, 6)
100.0
>>> round(score_corpus([f], [np.zeros(100)], STANDARD).normalized, 6)
0.0
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from aiops.config.detect import DetectConfig
from aiops.detect.bank import DetectorBank
from aiops.detect.episodes import Phase
from aiops.detect.robust import Evidence

F64 = npt.NDArray[np.float64]

# The published NAB v1.1 scoreboard (standard, reward low FP, reward low FN).
PUBLISHED: tuple[tuple[str, float, float, float], ...] = (
    ("ARTime", 74.9, 65.1, 80.4),
    ("Numenta HTM", 70.5, 62.6, 75.2),
    ("CAD OSE", 69.9, 67.0, 73.2),
    ("earthgecko Skyline", 58.2, 46.2, 63.9),
    ("KNN CAD", 58.0, 43.4, 64.8),
    ("Relative Entropy", 54.6, 47.6, 58.8),
    ("Random Cut Forest", 51.7, 38.4, 59.7),
    ("Twitter ADVec", 47.1, 33.6, 53.5),
    ("Windowed Gaussian", 39.6, 20.9, 47.4),
    ("Etsy Skyline", 35.7, 27.1, 44.5),
)


@dataclass(frozen=True, kw_only=True, slots=True)
class Profile:
    """One NAB cost profile."""

    name: str
    tp: float
    fp: float
    fn: float


STANDARD = Profile(name="standard", tp=1.0, fp=0.11, fn=1.0)
PROFILE_ORDER = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")


@dataclass(frozen=True, kw_only=True, slots=True)
class NabFile:
    """One labelled series: values, timestamps and windows as inclusive index pairs."""

    name: str
    timestamps: npt.NDArray[np.datetime64]
    values: F64
    windows: tuple[tuple[int, int], ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class ProfileResult:
    """The corpus score of one detector under one profile, at its best threshold."""

    profile: str
    threshold: float
    raw: float
    null: float
    perfect: float
    normalized: float
    tp: int
    fp: int
    fn: int


def scaled_sigmoid(x: F64) -> F64:
    """NAB's reward curve: ``2 * sigmoid(-5x) - 1``, and -1 beyond ``x > 3``.

    >>> [round(float(v), 4) for v in scaled_sigmoid(np.array([-1.0, 0.0, 1.0, 4.0]))]
    [0.9866, 0.0, -0.9866, -1.0]
    """
    with np.errstate(over="ignore"):
        val = 2.0 / (1.0 + np.exp(5.0 * x)) - 1.0
    out: F64 = np.where(x > 3.0, -1.0, val)
    return out


def probation_length(n: int, percent: float = 0.15) -> int:
    """Points of a file never scored: 15% of it, at most 750.

    >>> probation_length(4032), probation_length(22695)
    (604, 750)
    """
    return int(min(math.floor(percent * n), percent * 5000))


def sweep(
    n: int, windows: Sequence[tuple[int, int]], profile: Profile
) -> tuple[F64, npt.NDArray[np.int64]]:
    """Per-point reward if detected, and window id per point (-1 outside, -2 probation)."""
    idx = np.arange(n, dtype=np.float64)
    reward = np.full(n, -1.0 * profile.fp)
    window = np.full(n, -1, dtype=np.int64)
    max_tp = float(scaled_sigmoid(np.array([-1.0]))[0])
    bounds = sorted(windows)
    for k, (lo, hi) in enumerate(bounds):
        width = hi - lo + 1.0
        pos = -(hi - idx[lo : hi + 1] + 1.0) / width
        reward[lo : hi + 1] = scaled_sigmoid(pos) * profile.tp / max_tp
        window[lo : hi + 1] = k
        end = bounds[k + 1][0] if k + 1 < len(bounds) else n
        if hi + 1 < end:
            past = np.abs(hi - idx[hi + 1 : end]) / max(width - 1.0, 1.0)
            reward[hi + 1 : end] = scaled_sigmoid(past) * profile.fp
    window[: probation_length(n)] = -2
    return reward, window


def score_corpus(
    files: Sequence[NabFile], scores: Sequence[F64], profile: Profile
) -> ProfileResult:
    """Best-threshold NAB score of per-file anomaly scores (one array per file)."""
    rewards: list[F64] = []
    windows: list[npt.NDArray[np.int64]] = []
    values: list[F64] = []
    n_windows = 0
    for f, s in zip(files, scores, strict=True):
        if len(s) != len(f.values):
            raise ValueError(f"{f.name}: {len(s)} scores for {len(f.values)} points")
        r, w = sweep(len(f.values), f.windows, profile)
        keep = w != -2
        counted = np.unique(w[keep & (w >= 0)])
        # Renumber this file's counted windows into corpus-wide ids.
        remap = np.full(len(f.windows) + 1, -1, dtype=np.int64)
        remap[counted] = np.arange(n_windows, n_windows + len(counted))
        w_keep = w[keep]
        rewards.append(r[keep])
        windows.append(np.where(w_keep >= 0, remap[np.maximum(w_keep, 0)], -1))
        values.append(np.nan_to_num(np.asarray(s, dtype=np.float64)[keep], nan=0.0))
        n_windows += len(counted)
    reward = np.concatenate(rewards)
    window = np.concatenate(windows)
    score = np.concatenate(values)
    null = -profile.fn * n_windows
    perfect = profile.tp * n_windows
    order = np.argsort(-score, kind="stable")
    s_sorted, r_sorted, w_sorted = score[order], reward[order], window[order]
    in_win = w_sorted >= 0
    delta = np.where(in_win, 0.0, r_sorted)
    # For window points: gain when a detection beats the window's best so far.
    wi = np.nonzero(in_win)[0]
    if len(wi):
        g = w_sorted[wi]
        by_window = np.lexsort((wi, g))
        gw, rw = g[by_window], r_sorted[wi][by_window]
        run = np.maximum.accumulate(rw + 10.0 * gw) - 10.0 * gw
        first = np.r_[True, gw[1:] != gw[:-1]]
        prev = np.where(first, -profile.fn, np.r_[0.0, run[:-1]])
        gain = run - prev
        delta[wi[by_window]] = gain
    total = null + np.cumsum(delta)
    last_of_tie = np.r_[s_sorted[1:] != s_sorted[:-1], True]
    cand = np.nonzero(last_of_tie)[0]
    best_k = int(cand[np.argmax(total[cand])]) if len(cand) else -1
    if best_k < 0 or total[best_k] <= null:
        raw, threshold, det = null, 1.1, np.zeros(0, dtype=np.int64)
    else:
        raw, threshold = float(total[best_k]), float(s_sorted[best_k])
        det = np.arange(best_k + 1)
    detected_windows = np.unique(w_sorted[det][w_sorted[det] >= 0])
    fp = int((w_sorted[det] < 0).sum())
    denom = perfect - null
    return ProfileResult(
        profile=profile.name, threshold=threshold, raw=raw, null=null, perfect=perfect,
        normalized=100.0 * (raw - null) / denom if denom else 0.0,
        tp=len(detected_windows), fp=fp, fn=n_windows - len(detected_windows),
    )


# -- corpus I/O ------------------------------------------------------------------
def load_profiles(path: Path) -> dict[str, Profile]:
    """The cost profiles of NAB's ``profiles.json``."""
    data = json.loads(path.read_text())
    out = {}
    for name, spec in data.items():
        m = spec["CostMatrix"]
        out[name] = Profile(name=name, tp=float(m["tpWeight"]), fp=float(m["fpWeight"]),
                            fn=float(m["fnWeight"]))
    return out


def read_series(path: Path) -> tuple[npt.NDArray[np.datetime64], F64]:
    """Timestamps and values of a ``timestamp,value`` CSV."""
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    ts = np.array([r["timestamp"].replace(" ", "T") for r in rows], dtype="datetime64[s]")
    vals = np.array([float(r["value"]) for r in rows], dtype=np.float64)
    return ts, vals


def load_corpus(data_dir: Path) -> list[NabFile]:
    """Every labelled file under ``data_dir/data`` with windows as index pairs."""
    labels = json.loads((data_dir / "combined_windows.json").read_text())
    files = []
    for name in sorted(labels):
        ts, vals = read_series(data_dir / "data" / name)
        wins = []
        for lo, hi in labels[name]:
            a = np.datetime64(lo.replace(" ", "T").split(".")[0], "s")
            b = np.datetime64(hi.replace(" ", "T").split(".")[0], "s")
            i, j = int(np.searchsorted(ts, a)), int(np.searchsorted(ts, b))
            if i >= len(ts) or j >= len(ts) or ts[i] != a or ts[j] != b:
                raise ValueError(f"{name}: window {lo} .. {hi} not on a data timestamp")
            wins.append((i, j))
        files.append(NabFile(name=name, timestamps=ts, values=vals, windows=tuple(wins)))
    return files


def run_bank(files: Sequence[NabFile], config: DetectConfig) -> list[F64]:
    """Stream every file through one bank, one series per file, all files in lockstep.

    Each file's result is what the daemon signals: the score at the start of each
    anomaly episode and 0 elsewhere (see :func:`onsets`).
    """
    bank = DetectorBank(config)
    longest = max(len(f.values) for f in files)
    grid = np.full((longest, len(files)), np.nan)
    times = np.zeros((longest, len(files)))
    for j, f in enumerate(files):
        grid[: len(f.values), j] = f.values
        times[: len(f.values), j] = f.timestamps.astype("datetime64[s]").astype(np.int64)
    bank.update_arrays(np.full(len(files), np.nan), times[0])  # one row per file
    out = np.empty_like(grid)
    for i in range(longest):
        out[i] = onsets(bank.evidence(grid[i], times[i]))
    return [np.nan_to_num(out[: len(f.values), j], nan=0.0) for j, f in enumerate(files)]


def onsets(ev: Evidence) -> F64:
    """Per row, the score if an episode starts there, else 0: the daemon's one report."""
    assert ev.phase is not None
    out: F64 = np.where(ev.phase == Phase.START, np.nan_to_num(ev.score, nan=0.0), 0.0)
    return out


def evaluate(data_dir: Path, config: DetectConfig) -> list[ProfileResult]:
    """NAB scores of the configured detector, one per profile, in the published order."""
    files = load_corpus(data_dir)
    profiles = load_profiles(data_dir / "profiles.json")
    return evaluate_files(files, profiles, config)[0]


def evaluate_files(
    files: Sequence[NabFile], profiles: dict[str, Profile], config: DetectConfig
) -> tuple[list[ProfileResult], list[tuple[str, int]]]:
    """Scores per profile, and the standard-threshold false positives of every file
    without labelled anomalies (a detector should stay silent there)."""
    scores = run_bank(files, config)
    results = [score_corpus(files, scores, profiles[name]) for name in PROFILE_ORDER]
    threshold = results[0].threshold
    quiet = []
    for f, s in zip(files, scores, strict=True):
        if not f.windows:
            counted = s[probation_length(len(s)):]
            quiet.append((f.name, int((counted >= threshold).sum())))
    return results, quiet


def halves(files: Sequence[NabFile]) -> tuple[list[NabFile], list[NabFile]]:
    """Two held-out halves, A and B: files alternate within each category (by name).

    Tune on one half and report the other to see whether a setting generalizes.

    >>> names = ["a/1.csv", "a/2.csv", "a/3.csv", "b/1.csv", "b/2.csv"]
    >>> fs = [NabFile(name=n, timestamps=np.zeros(0, "datetime64[s]"), values=np.zeros(0),
    ...               windows=()) for n in names]
    >>> [[f.name for f in h] for h in halves(fs)]
    [['a/1.csv', 'a/3.csv', 'b/1.csv'], ['a/2.csv', 'b/2.csv']]
    """
    a: list[NabFile] = []
    b: list[NabFile] = []
    seen: dict[str, int] = {}
    for f in sorted(files, key=lambda f: f.name):
        category = f.name.split("/")[0]
        k = seen.get(category, 0)
        seen[category] = k + 1
        (a if k % 2 == 0 else b).append(f)
    return a, b
