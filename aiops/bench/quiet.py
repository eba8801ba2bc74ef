"""Silence on anomaly-free noise: how often the default signals where nothing happened.

NAB labels an anomaly in almost every file it ships, so a detector can lead it and
still cry wolf on plain noise of a shape the corpus lacks. This benchmark streams
synthetic anomaly-free families (Gaussian, exponential, Student-t, Poisson counts,
AR(1), lognormal: light, heavy and discrete tails), ``seeds`` series each of NAB's
artificial length and cadence (4,032 points at 5 minutes), through one bank, and
reports per family how many series ever score at or above the daemon's threshold after
NAB's probation, and the median of each series' largest score. The Gaussian family is
the in-run baseline: a well-calibrated tail scores every family's largest point like
the Gaussian's (ratio near 1).

>>> from aiops.config.detect import DetectConfig
>>> rows = run(DetectConfig(), seeds=2, points=600, families=("gaussian", "poisson3"))
>>> [(r.family, r.series, r.reaching) for r in rows]
[('gaussian', 2, 0), ('poisson3', 2, 0)]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.signal import lfilter

from aiops.bench.nab import probation_length
from aiops.config.detect import DetectConfig
from aiops.detect.bank import DetectorBank

F64 = npt.NDArray[np.float64]
STEP = 300.0  # NAB's artificial files: one point every 5 minutes
POINTS = 4032  # and 14 days of them


def _ar1(rng: np.random.Generator, n: int, phi: float = 0.9) -> F64:
    """AR(1) noise around 10: ``y[i] = phi * y[i - 1] + e[i]``, starting at ``e[0]``."""
    out: F64 = 10.0 + lfilter([1.0], [1.0, -phi], rng.standard_normal(n))
    return out


FAMILIES: dict[str, Callable[[np.random.Generator, int], F64]] = {
    "gaussian": lambda r, n: 10.0 + r.standard_normal(n),
    "exponential": lambda r, n: r.exponential(1.0, n),
    "student_t5": lambda r, n: 10.0 + r.standard_t(5, n),
    "poisson3": lambda r, n: r.poisson(3, n).astype(np.float64),
    "ar1_0.9": _ar1,
    "lognormal_0.6": lambda r, n: np.exp(0.6 * r.standard_normal(n)),
    "lognormal_1.0": lambda r, n: np.exp(r.standard_normal(n)),
}


@dataclass(frozen=True, kw_only=True, slots=True)
class FamilyResult:
    """One family: series streamed, how many reached the threshold, typical largest score."""

    family: str
    series: int
    reaching: int
    median_max: float
    threshold: float


def run(
    config: DetectConfig,
    *,
    seeds: int = 16,
    points: int = POINTS,
    families: Sequence[str] = tuple(FAMILIES),
) -> list[FamilyResult]:
    """Stream ``seeds`` series of each family through one bank, all in lockstep."""
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        raise ValueError(f"unknown families {unknown}; known: {', '.join(FAMILIES)}")
    if seeds < 1 or points < 10:
        raise ValueError("need at least one seed and ten points")
    data = np.stack([FAMILIES[f](np.random.default_rng(s), points)
                     for f in families for s in range(seeds)], axis=1)
    bank = DetectorBank(config)
    bank.update_arrays(np.full(data.shape[1], np.nan), 0.0)  # one row per series
    largest = np.zeros(data.shape[1])
    start = probation_length(points)
    for i in range(points):
        score = bank.evidence(data[i], np.full(data.shape[1], STEP * i)).score
        if i >= start:
            np.fmax(largest, score, out=largest)
    out = []
    for k, fam in enumerate(families):
        mx = largest[k * seeds : (k + 1) * seeds]
        out.append(FamilyResult(
            family=fam, series=seeds, reaching=int((mx >= config.threshold).sum()),
            median_max=float(np.median(mx)), threshold=config.threshold))
    return out
