"""Tail calibration: the Gaussian body meets the learnt tail, and learning moves the tail."""

from __future__ import annotations

import numpy as np

from aiops.detect.calibration import Q, evidence_score, learn_tail, tail_logp, tail_params, to_score


def _prior(rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    zeros = np.zeros((3, rows))
    return tail_params(zeros, zeros.copy(), np.zeros(rows, dtype=np.int64))


def test_body_meets_tail_at_threshold() -> None:
    """Just below and just above |z| = Q the log tail probability is nearly the same."""
    lr, ime, lb = _prior(1)
    below = tail_logp(np.full((3, 1), Q - 1e-3), lr, ime, lb)
    above = tail_logp(np.full((3, 1), Q + 1e-9), lr, ime, lb)
    assert np.all(np.abs(below - above) < 0.01)


def test_learnt_heavy_tail_makes_large_z_less_surprising() -> None:
    """A series that often exceeds Q by a lot judges a given large |z| less surprising."""
    exc, excess = np.zeros((3, 1)), np.zeros((3, 1))
    n = np.array([5000], dtype=np.int64)
    for _ in range(3000):
        learn_tail(exc, excess, np.full((3, 1), 6.0), np.array([1.0 / 5000]), np.ones(1))
    heavy = tail_logp(np.full((3, 1), 8.0), *tail_params(exc, excess, n))
    prior = tail_logp(np.full((3, 1), 8.0), *_prior(1))
    assert heavy[0, 0] > prior[0, 0] + 1.0
    assert heavy[2, 0] <= heavy[0, 0]  # the trend tail is capped at the prior


def test_scores_rank_as_evidence() -> None:
    """Scores grow with |z|, also beyond 0.9, and stay inside [0, 1)."""
    lr, ime, lb = _prior(6)
    az = np.tile(np.array([0.0, 1.0, 2.5, 3.5, 6.0, 30.0]), (3, 1))
    score = evidence_score(tail_logp(az, lr, ime, lb), 8.0)
    assert np.all(np.diff(score) >= 0.0) and score[-1] > score[-2]
    assert score.min() >= 0.0 and score.max() < 1.0
    high = to_score(np.array([20.0, 40.0]), 8.0)
    assert 0.9 < high[0] < high[1] < 1.0
