"""Tail calibration: the Gaussian body meets the learnt tail, and learning moves the tail."""

from __future__ import annotations

import warnings

import numpy as np

from aiops.detect.calibration import (
    XI_MAX,
    XI_MIN,
    Q,
    Tail,
    evidence_score,
    exponential_excess2,
    learn_tail,
    tail_logp,
    tail_params,
    to_score,
)


def _prior(rows: int) -> Tail:
    zeros = np.zeros((3, rows))
    return tail_params(zeros, zeros.copy(), zeros.copy(), np.zeros(rows, dtype=np.int64))


def _state(az: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tail state (one row, all statistics) after learning every |z| in ``az``."""
    exc, excess, excess2 = np.zeros((3, 1)), np.zeros((3, 1)), np.zeros((3, 1))
    for a in az:
        learn_tail(exc, excess, excess2, np.full((3, 1), a), np.array([1.0 / n]), np.ones(1))
    return exc, excess, excess2


def _learnt(az: np.ndarray, n: int = 5000) -> tuple[Tail, np.ndarray]:
    """Tail parameters after learning every |z| in ``az``, and the learnt shape."""
    tail = tail_params(*_state(az, n), np.array([n], dtype=np.int64))
    return tail, 1.0 / tail.ixi


def test_body_meets_tail_at_threshold() -> None:
    """Just below and just above |z| = Q the log tail probability is nearly the same."""
    tail = _prior(1)
    below = tail_logp(np.full((3, 1), Q - 1e-3), *tail)
    above = tail_logp(np.full((3, 1), Q + 1e-9), *tail)
    assert np.all(np.abs(below - above) < 0.01)


def test_the_prior_tail_is_exponential() -> None:
    """With nothing learnt, the tail beyond Q falls by one over the mean excess per unit."""
    tail = _prior(1)
    at_q = tail_logp(np.full((3, 1), Q + 1e-12), *tail)
    far = tail_logp(np.full((3, 1), Q + 4.0), *tail)
    np.testing.assert_allclose(at_q - far, 4.0 / 0.5, rtol=1e-5)


def test_learnt_heavy_tail_makes_large_z_less_surprising() -> None:
    """A series that often exceeds Q by a lot judges a given large |z| less surprising."""
    tail, _ = _learnt(np.full(3000, 6.0))
    heavy = tail_logp(np.full((3, 1), 8.0), *tail)
    prior = tail_logp(np.full((3, 1), 8.0), *_prior(1))
    assert heavy[0, 0] > prior[0, 0] + 1.0
    assert heavy[2, 0] <= heavy[0, 0]  # the trend tail is capped at the prior


def test_the_shape_tracks_the_tail_it_is_shown() -> None:
    """Pareto-like excesses give a positive shape; exponential ones stay at the floor."""
    rng = np.random.default_rng(0)
    calm = np.zeros(20000)
    pareto = calm.copy()
    pareto[::20] = Q + (rng.pareto(1.0 / 0.3, 1000) * 0.7)  # generalised Pareto, xi = 0.3
    expo = calm.copy()
    expo[::20] = Q + rng.exponential(0.7, 1000)
    _, xi_pareto = _learnt(pareto, n=20000)
    _, xi_expo = _learnt(expo, n=20000)
    assert 0.1 < xi_pareto[0, 0] <= XI_MAX
    assert xi_expo[0, 0] < 0.1
    assert xi_pareto[2, 0] == XI_MIN  # the trend's tail keeps the exponential shape


def test_a_learnt_shape_makes_far_records_less_surprising_than_the_exponential() -> None:
    """Given the same rate and mean excess, a heavy shape scores a far |z| as likelier."""
    rng = np.random.default_rng(1)
    az = np.zeros(20000)
    az[::20] = Q + rng.pareto(1.0 / 0.4, 1000) * 0.6
    shaped, xi = _learnt(az, n=20000)
    assert xi[0, 0] > 0.2
    # The exponential tail with the same rate and mean excess (sigma / (1 - xi)).
    xi_s = 1.0 / shaped.ixi
    mean_excess = xi_s / shaped.kx / (1.0 - xi_s)
    flat = shaped._replace(
        kx=XI_MIN / (mean_excess * (1.0 - XI_MIN)), ixi=np.full_like(shaped.ixi, 1.0 / XI_MIN)
    )
    far = np.full((3, 1), Q + 20.0)
    assert tail_logp(far, *shaped)[0, 0] > tail_logp(far, *flat)[0, 0] + 2.0


def test_migrated_state_keeps_the_exponential_tail() -> None:
    """The second moment rebuilt for old state gives exactly the exponential shape."""
    az = np.r_[np.zeros(900), np.full(100, Q + 1.0)]
    exc, excess, excess2 = _state(az, 1000)
    n = np.array([1000], dtype=np.int64)
    learnt = tail_params(exc, excess, excess2, n)
    migrated = tail_params(exc, excess, exponential_excess2(exc, excess), n)
    np.testing.assert_allclose(1.0 / migrated.ixi, XI_MIN)
    np.testing.assert_allclose(migrated.lrate, learnt.lrate)


def test_scores_rank_as_evidence() -> None:
    """Scores grow with |z|, also beyond 0.9, and stay inside [0, 1)."""
    tail = _prior(6)
    az = np.tile(np.array([0.0, 1.0, 2.5, 3.5, 6.0, 30.0]), (3, 1))
    score = evidence_score(tail_logp(az, *tail), 8.0)
    assert np.all(np.diff(score) >= 0.0) and score[-1] > score[-2]
    assert score.min() >= 0.0 and score.max() < 1.0
    high = to_score(np.array([20.0, 40.0]), 8.0)
    assert 0.9 < high[0] < high[1] < 1.0


def test_scores_rank_as_evidence_under_a_heavy_shape() -> None:
    """With a learnt heavy shape the score still grows with |z| and never reaches 1."""
    rng = np.random.default_rng(2)
    az = np.zeros(20000)
    az[::10] = Q + rng.pareto(2.0, 2000)
    tail, _ = _learnt(az, n=20000)
    grid = np.linspace(0.0, 1e6, 2001)
    logp = tail_logp(np.tile(grid, (3, 1)), *(np.repeat(a, grid.size, axis=1) for a in tail))
    assert np.all(np.diff(logp[0]) <= 0.0)
    assert np.all(np.isfinite(logp)) and logp.max() <= 0.0


def test_a_huge_finite_z_is_the_most_surprising_and_warns_of_nothing() -> None:
    """|z| far beyond the body's table stays in the tail: log p keeps falling with |z|."""
    az = np.array([[1e3, 1e9, 1e200]] * 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        logp = tail_logp(az, *_prior(3))
    assert logp[0, 0] > logp[0, 1] > logp[0, 2]
    assert np.isfinite(logp).all()
