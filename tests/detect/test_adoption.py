"""Telling a new normal from an anomaly: the streak rule and Page-Hinkley adoption."""

from __future__ import annotations

import numpy as np

from aiops.detect.config import Params
from aiops.detect.ensemble import Ensemble


def _series(n: int, shift_at: int, shift: float, until: int | None = None) -> np.ndarray:
    """Gaussian noise (sd 1) around 100, moved by ``shift`` from ``shift_at`` (to ``until``)."""
    rng = np.random.default_rng(11)
    v = 100.0 + rng.normal(0.0, 1.0, n)
    v[shift_at:until] += shift
    return v


def _run(params: Params, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, Ensemble]:
    ens = Ensemble(params)
    ens.grow(1)
    scores, expected = [], []
    for x in v:
        ev = ens.step(np.array([x]))
        scores.append(float(ev.score[0]))
        expected.append(float(ev.expected[0]))
    return np.array(scores), np.array(expected), ens


def test_a_lasting_shift_is_adopted_sooner_with_page_hinkley() -> None:
    """A deploy-like step of 8 spreads stops being anomalous well before adopt_after samples."""
    v = _series(1000, shift_at=600, shift=8.0)
    streak, _, _ = _run(Params(adopt_after=40), v)
    drift, expected, _ = _run(Params(adopt_after=40, drift_threshold=50.0), v)
    streak_alarms = int((streak[600:] >= 0.9).sum())
    drift_alarms = int((drift[600:] >= 0.9).sum())
    assert streak_alarms >= 35
    assert drift_alarms <= 25
    assert abs(expected[-1] - 108.0) < 1.5  # the new level is the expectation now


def test_a_short_burst_is_not_adopted() -> None:
    """Ten samples at +8 spreads then back: the baseline stays at the old level."""
    v = _series(800, shift_at=600, shift=8.0, until=610)
    scores, expected, _ = _run(Params(drift_threshold=50.0), v)
    assert (scores[600:610] >= 0.9).sum() >= 8
    assert abs(expected[620] - 100.0) < 1.0
    assert (scores[630:] < 0.9).all()


def test_drift_state_survives_a_snapshot() -> None:
    """Restored drift state continues exactly like the original."""
    params = Params(drift_threshold=50.0)
    v = _series(700, shift_at=600, shift=8.0)
    _, _, ens = _run(params, v[:615])
    copy = Ensemble(params)
    copy.load(ens.state())
    for x in v[615:]:
        a = ens.step_scores(np.array([x]))
        b = copy.step_scores(np.array([x]))
        np.testing.assert_array_equal(a, b)
    assert params.state_hash() != Params().state_hash()
    assert Params(drift_threshold=0.0).state_hash() == Params().state_hash()
