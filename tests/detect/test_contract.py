"""Contract every detector honours: the river shape plus safety properties."""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiops.config.detect import preset
from aiops.detect.base import Detector
from aiops.detect.config import Params
from aiops.detect.detectors import HalfSpaceDetector, RobustDetector
from aiops.detect.drift import DriftDetector, DriftParams

FEATURES = ("cpu", "memory", "latency")
WARMUP = 40


def robust() -> Any:
    return RobustDetector(Params(warmup=WARMUP))


def robust_seasonal() -> Any:
    return RobustDetector(Params(warmup=WARMUP, seasons=((3600.0, 12, 0.2),)))


def robust_recurring() -> Any:
    return RobustDetector(Params(warmup=WARMUP, recurring_period=3600.0, recurring_bins=12,
                                 recurring_discount=0.5))


def robust_nab() -> Any:
    """The NAB preset: seasons, envelope, recurring-anomaly memory, records, quiet period."""
    return RobustDetector(replace(Params.from_config(preset("default")), warmup=WARMUP))


def robust_drift() -> Any:
    return RobustDetector(Params(warmup=WARMUP, drift_threshold=20.0))


def halfspace() -> Any:
    return HalfSpaceDetector(FEATURES, warmup=WARMUP, window_size=50, height=3, seed=3)


FACTORIES: dict[str, Callable[[], Any]] = {
    "robust": robust,
    "robust-seasonal": robust_seasonal,
    "robust-recurring": robust_recurring,
    "robust-nab": robust_nab,
    "robust-drift": robust_drift,
    "halfspace": halfspace,
    "drift": lambda: DriftDetector(DriftParams(min_instances=WARMUP)),
}
params = pytest.mark.parametrize("make", list(FACTORIES.values()), ids=list(FACTORIES))


def stream(n: int, seed: int = 0) -> list[dict[str, float]]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        cpu, mem, lat = 0.5 + 0.05 * rng.normal(), 500 + 5 * rng.normal(), 0.2 + 0.01 * rng.normal()
        out.append({"value": lat, "t": 60.0 * i, "cpu": cpu, "memory": mem, "latency": lat})
    return out


def run(det: Any, xs: list[dict[str, float]]) -> list[float]:
    scores = []
    for x in xs:
        scores.append(det.score_one(x))
        det.learn_one(x)
    return scores


@params
def test_satisfies_the_river_detector_protocol(make: Callable[[], Any]) -> None:
    """Every detector is a Detector (learn_one, score_one)."""
    assert isinstance(make(), Detector)


@params
def test_warmup_returns_zero(make: Callable[[], Any]) -> None:
    """Scores are exactly 0 for the warm-up points, whatever the values."""
    xs = stream(WARMUP)
    xs[5] = {k: v * 100 for k, v in xs[5].items()}
    assert run(make(), xs) == [0.0] * WARMUP


@params
def test_pickle_round_trip_continues_identically(make: Callable[[], Any]) -> None:
    """A pickled and restored detector scores the rest of a stream like the original."""
    xs = stream(300)
    a = make()
    run(a, xs[:200])
    b = pickle.loads(pickle.dumps(a))
    assert run(a, xs[200:]) == run(b, xs[200:])


@params
def test_same_seed_same_scores(make: Callable[[], Any]) -> None:
    """Two detectors built alike score the same stream identically."""
    xs = stream(250, seed=5)
    assert run(make(), xs) == run(make(), xs)


@params
def test_memory_is_bounded(make: Callable[[], Any]) -> None:
    """State size after 10x more points is no larger (within 5%) than after 300."""
    det = make()
    run(det, stream(300))
    short = len(pickle.dumps(det))
    run(det, stream(3000, seed=1))
    assert len(pickle.dumps(det)) <= 1.05 * short


@params
def test_nan_inf_and_missing_are_skipped_counted_and_never_poison(make: Callable[[], Any]) -> None:
    """Invalid samples score 0, are counted, and leave later scores unchanged."""
    clean = stream(300)
    dirty: list[dict[str, float]] = []
    bad = 0
    for i, x in enumerate(clean):
        dirty.append(x)
        if i % 23 == 0:
            poison = dict(x)
            if i % 3 == 0:
                poison = {k: float("nan") for k in x}
            elif i % 3 == 1:
                poison = {k: float("inf") for k in x}
            else:
                poison = {"t": x["t"]}
            dirty.append(poison)
            bad += 1
    a, b = make(), make()
    sa = run(a, clean)
    sb = run(b, dirty)
    assert b.skipped == bad and a.skipped == 0
    assert [s for s, x in zip(sb, dirty, strict=True) if any(x is c for c in clean)] == sa


@params
@settings(max_examples=25, deadline=None)
@given(values=st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), max_size=80))
def test_never_crashes_and_scores_stay_in_range(
    make: Callable[[], Any], values: list[float]
) -> None:
    """Any float stream (huge, tiny, NaN, inf) gives scores in [0, 1] and no exception."""
    det = make()
    for i, v in enumerate(values):
        x = {"value": v, "t": 60.0 * i, "cpu": v, "memory": v, "latency": v}
        s = det.score_one(x)
        assert 0.0 <= s <= 1.0 and not math.isnan(s)
        det.learn_one(x)


def test_halfspace_names_the_metric_that_moved() -> None:
    """A latency jump is attributed mostly to latency."""
    det = halfspace()
    run(det, stream(400))
    x = {"cpu": 0.5, "memory": 500.0, "latency": 0.6}
    top, share = det.contributions(x)[0]
    assert top == "latency" and share > 0.5
