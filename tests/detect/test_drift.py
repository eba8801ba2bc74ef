"""Page-Hinkley drift bank and detector: river-exact, scale-free, vectorized, snapshot-safe."""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from river.drift import PageHinkley

from aiops.detect.base import Detector
from aiops.detect.drift import DriftDetector, DriftParams, PageHinkleyBank

F64 = npt.NDArray[np.float64]

RIVER_CASES: list[dict[str, Any]] = [
    {},
    {"min_instances": 10, "delta": 0.05, "threshold": 20.0},
    {"min_instances": 5, "delta": 0.1, "threshold": 10.0, "alpha": 0.99},
    {"min_instances": 50, "delta": 0.0, "threshold": 100.0, "alpha": 1.0},
]


def shifted(seed: int, n: int = 3000, sd: float = 1.0) -> tuple[F64, list[tuple[int, float]]]:
    """Gaussian noise around a level that jumps up or down by 3-8 sd a few times."""
    rng = np.random.default_rng(seed)
    margin = min(300, n // 5)
    times = sorted(rng.choice(np.arange(margin, n - margin), size=4, replace=False).tolist())
    jumps = [(int(t), float(rng.choice([-1.0, 1.0]) * rng.uniform(3, 8) * sd)) for t in times]
    level = np.zeros(n)
    for t, j in jumps:
        level[t:] += j
    return 100.0 + level + sd * rng.standard_normal(n), jumps


def river_drifts(xs: F64 | list[float], **kw: Any) -> list[int]:
    ph: Any = PageHinkley(**kw)
    out = []
    for i, x in enumerate(xs):
        ph.update(float(x))
        if ph.drift_detected:
            out.append(i)
    return out


def bank_run(bank: PageHinkleyBank, rows: F64, scale: F64 | None = None) -> npt.NDArray[np.bool_]:
    """Feed a (rows x steps) array step by step; the (rows x steps) drift flags."""
    flags = np.zeros(rows.shape, dtype=bool)
    for t in range(rows.shape[1]):
        flags[:, t] = bank.step(rows[:, t], None if scale is None else scale[:, t])
    return flags


def fresh(size: int, params: DriftParams | None = None) -> PageHinkleyBank:
    bank = PageHinkleyBank(params)
    bank.grow(size)
    return bank


@pytest.mark.parametrize("kw", RIVER_CASES)
def test_same_drift_indices_as_river_on_shifted_streams(kw: dict[str, Any]) -> None:
    """With scale 1 and no winsorizing, every seeded stream drifts exactly where river's does."""
    total = 0
    for seed in range(5):
        xs, _ = shifted(seed)
        expected = river_drifts(xs, **kw)
        got = np.nonzero(bank_run(fresh(1, DriftParams.river(**kw)), xs[None, :])[0])[0]
        assert got.tolist() == expected
        total += len(expected)
    assert total >= 5 * 4 // 2  # the comparison is not vacuous: drifts do happen


def test_river_cross_check_sees_both_directions() -> None:
    """The river-equivalent bank reports up and down drifts at the level shifts."""
    bank = fresh(1, DriftParams.river())
    xs, jumps = shifted(3)
    seen = {}
    for t, x in enumerate(xs):
        ch = bank.update(np.array([x]))
        if ch.drift[0]:
            seen[t] = int(ch.direction[0])
    for t0, j in jumps:
        hits = [d for t, d in seen.items() if t0 <= t < t0 + 100]
        assert hits and hits[0] == (1 if j > 0 else -1)


@settings(max_examples=60, deadline=None)
@given(xs=st.lists(st.floats(min_value=-1e3, max_value=1e3), min_size=1, max_size=200))
def test_matches_river_on_arbitrary_streams(xs: list[float]) -> None:
    """Any bounded stream gives river's drift indices (sensitive parameters)."""
    kw: dict[str, Any] = {"min_instances": 3, "delta": 0.5, "threshold": 5.0, "alpha": 0.95}
    got = np.nonzero(bank_run(fresh(1, DriftParams.river(**kw)), np.array([xs]))[0])[0]
    assert got.tolist() == river_drifts(xs, **kw)


@pytest.mark.parametrize("sd", [1e-3, 1.0, 1e6])
@pytest.mark.parametrize("jump", [-5.0, -3.0, 3.0, 5.0])
def test_level_shift_of_a_few_spreads_is_flagged_quickly(sd: float, jump: float) -> None:
    """A 3-5 spread shift, in any units, drifts within 2x the nominal delay, never before it.

    The reported level is nearer the new level than the old (within 0.75 spread on average).
    """
    p = DriftParams()
    n, t0, seeds = 3000, 2000, 8
    rng = np.random.default_rng([int(abs(jump)), int(jump > 0), int(math.log10(sd)) + 10])
    rows = 7.0 * sd + sd * rng.standard_normal((seeds, n))
    rows[:, t0:] += jump * sd
    bank = fresh(seeds, p)
    first: dict[int, int] = {}
    errors = []
    for t in range(n):
        ch = bank.update(rows[:, t], scale=np.full(seeds, sd))
        for r in np.nonzero(ch.drift)[0]:
            if int(r) not in first:
                assert t >= t0 and ch.direction[r] == np.sign(jump)
                errors.append(abs(ch.level[r] - (7.0 + jump) * sd) / sd)
                first[int(r)] = t - t0
    nominal = p.threshold / (min(abs(jump), p.clip) - p.delta)
    assert len(first) == seeds and max(first.values()) <= 2 * nominal
    assert max(errors) < abs(jump) / 2 and float(np.mean(errors)) < 0.75


def test_stationary_noise_raises_no_drift() -> None:
    """10,000 samples of stationary Gaussian noise on 20 rows raise no drift at all."""
    rng = np.random.default_rng(11)
    sd = np.logspace(-3, 6, 20)
    rows = 5.0 * sd[:, None] + sd[:, None] * rng.standard_normal((20, 10_000))
    flags = bank_run(fresh(20), rows, np.broadcast_to(sd[:, None], rows.shape))
    assert int(flags.sum()) == 0


def test_heavy_tailed_stationary_noise_raises_no_drift() -> None:
    """Student-t (3 dof) noise scaled by its MAD spread, 10,000 samples, 10 rows: no drift."""
    rng = np.random.default_rng(5)
    rows = rng.standard_t(3, size=(10, 10_000))
    mad = np.median(np.abs(rows - np.median(rows, axis=1, keepdims=True)), axis=1) / 0.6745
    flags = bank_run(fresh(10), rows, np.broadcast_to(mad[:, None], rows.shape))
    assert int(flags.sum()) == 0


def test_a_short_burst_is_an_anomaly_a_lasting_shift_a_new_normal() -> None:
    """Eight points at +20 spreads do not drift; the same jump sustained drifts within 20."""
    rng = np.random.default_rng(2)
    base = rng.standard_normal(3000)
    burst, lasting = base.copy(), base.copy()
    burst[1500:1508] += 20.0
    lasting[1500:] += 20.0
    flags = bank_run(fresh(2), np.stack([burst, lasting]))
    assert not flags[0].any()
    first = int(np.nonzero(flags[1])[0][0])
    assert 1500 <= first < 1520


def test_many_rows_at_once_equal_each_row_alone() -> None:
    """A bank of 20 mixed rows flags exactly what 20 one-row banks flag."""
    rows, scales = [], []
    for seed in range(20):
        sd = 10.0 ** (seed % 7 - 3)
        xs, _ = shifted(seed, n=1200, sd=sd)
        rows.append(xs)
        scales.append(np.full(1200, sd))
    data, scale = np.stack(rows), np.stack(scales)
    together = bank_run(fresh(20), data, scale)
    alone = np.stack([bank_run(fresh(1), data[k : k + 1], scale[k : k + 1])[0]
                      for k in range(20)])
    assert together.any() and np.array_equal(together, alone)


def test_rows_added_later_start_fresh() -> None:
    """Growing the bank mid-stream leaves old rows untouched and new rows warming up."""
    xs, _ = shifted(4, n=1200)
    ys, _ = shifted(5, n=600)
    bank = fresh(1)
    got_x, got_y = [], []
    for t in range(1200):
        if t == 600:
            bank.grow(2)
        v = np.array([xs[t]]) if t < 600 else np.array([xs[t], ys[t - 600]])
        flags = bank.step(v)
        got_x.append(bool(flags[0]))
        if t >= 600:
            got_y.append(bool(flags[1]))
    assert got_x == bank_run(fresh(1), xs[None, :])[0].tolist()
    assert got_y == bank_run(fresh(1), ys[None, :])[0].tolist()
    assert any(got_x) and any(got_y)


def test_reset_rows_start_afresh_and_others_carry_on() -> None:
    """reset() by mask or index makes those rows behave like new ones, leaving the rest."""
    data = np.stack([shifted(s, n=1600)[0] for s in range(3)])
    bank = fresh(3)
    bank_run(bank, data[:, :800])
    ref = fresh(3)
    bank_run(ref, data[:, :800])
    bank.reset(np.array([False, True, False]))
    bank.reset(np.array([2]))
    assert [bank.learned(r) for r in range(3)] == [ref.learned(0), 0, 0]
    got = bank_run(bank, data[:, 800:])
    assert np.array_equal(got[0], bank_run(ref, data[:, 800:])[0])
    assert np.array_equal(got[1:], bank_run(fresh(2), data[1:, 800:]))


def test_state_round_trip_through_npz_continues_identically() -> None:
    """state() saved as npz (no pickle) and load()ed gives the same flags and state after."""
    data = np.stack([shifted(s, n=2000)[0] for s in range(12)])
    data[3, 100] = np.nan
    a = fresh(12)
    bank_run(a, data[:, :700])
    buf = io.BytesIO()
    arrays: dict[str, Any] = a.state()
    np.savez(buf, **arrays)
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as npz:
        b = PageHinkleyBank()
        b.load({k: npz[k] for k in npz.files}, skipped=a.skipped)
    fa, fb = bank_run(a, data[:, 700:]), bank_run(b, data[:, 700:])
    assert fa.any() and np.array_equal(fa, fb)
    assert a.skipped == b.skipped == 1
    sa, sb = a.state(), b.state()
    assert sa.keys() == sb.keys() and all(np.array_equal(sa[k], sb[k]) for k in sa)


def test_load_rejects_inconsistent_arrays() -> None:
    """A state whose arrays disagree in length is refused."""
    state = fresh(3).state()
    state["up"] = state["up"][:2]
    with pytest.raises(ValueError, match="inconsistent"):
        PageHinkleyBank().load(state)


def test_nan_inf_and_bad_scales_are_skipped_counted_and_leave_state_alone() -> None:
    """Invalid values or spreads are counted, flag nothing, and change no state."""
    xs, _ = shifted(6, n=1500)
    bad_values = [math.nan, math.inf, -math.inf, 1e200]
    bad_scales = [0.0, -1.0, math.nan, math.inf]
    clean = fresh(1)
    dirty = fresh(1)
    want = bank_run(clean, xs[None, :])[0]
    got, skipped = [], 0
    for t, x in enumerate(xs):
        if t % 37 == 0:
            before = dirty.state()
            k = (t // 37) % 4
            if t % 2:
                flags = dirty.step(np.array([bad_values[k]]))
            else:
                flags = dirty.step(np.array([x]), scale=np.array([bad_scales[k]]))
            skipped += 1
            after = dirty.state()
            assert not flags[0] and all(np.array_equal(before[n], after[n]) for n in before)
        got.append(bool(dirty.step(np.array([x]))[0]))
    assert dirty.skipped == skipped and clean.skipped == 0
    assert got == want.tolist() and any(got)


def test_peek_predicts_update_without_learning() -> None:
    """peek() returns the statistic update() then reports, and leaves the state unchanged."""
    data = np.stack([shifted(s, n=800)[0] for s in range(4)])
    bank = fresh(4)
    for t in range(800):
        before = bank.state()
        peeked = bank.peek(data[:, t])
        assert all(np.array_equal(before[k], bank.state()[k]) for k in before)
        ch = bank.update(data[:, t])
        assert np.array_equal(peeked, ch.statistic)
        assert np.array_equal(ch.drift, ch.statistic > 1.0)


def test_params_are_validated() -> None:
    """Nonsense parameters are refused at construction."""
    for bad in ({"min_instances": 0}, {"threshold": 0.0}, {"alpha": 1.5}, {"clip": 0.1}):
        with pytest.raises(ValueError):
            DriftParams(**bad)


def test_nbytes_grows_with_rows() -> None:
    """State size is reported and grows with capacity."""
    small, big = fresh(10).nbytes, fresh(10_000).nbytes
    assert 0 < small < big


# -- the single-series detector ------------------------------------------------
def detector_run(det: DriftDetector, xs: F64) -> tuple[list[float], list[int]]:
    scores, drifts = [], []
    for t, x in enumerate(xs):
        scores.append(det.score_one({"value": float(x)}))
        det.learn_one({"value": float(x)})
        if det.drift_detected:
            drifts.append(t)
    return scores, drifts


def test_detector_is_a_river_shaped_detector() -> None:
    """DriftDetector satisfies the project's Detector protocol."""
    assert isinstance(DriftDetector(), Detector)


@pytest.mark.parametrize("sd", [1e-4, 1.0, 1e7])
def test_detector_learns_its_spread_and_flags_a_lasting_shift(sd: float) -> None:
    """In any units, a +4 spread shift drifts soon after it, with the new level reported."""
    rng = np.random.default_rng(8)
    xs = 3.0 * sd + sd * rng.standard_normal(4000)
    xs[3000:] += 4.0 * sd
    det = DriftDetector()
    scores, drifts = detector_run(det, xs)
    assert drifts and 3000 <= drifts[0] < 3000 + 2 * 50 / 3.5
    assert scores[drifts[0]] == 1.0 and max(scores[:3000]) < 1.0
    assert len(drifts) == 1


def test_detector_reports_the_new_level() -> None:
    """The level reported at the drift is near the new level, not the old one."""
    rng = np.random.default_rng(9)
    xs = 50.0 + rng.standard_normal(2000)
    xs[1000:] -= 6.0
    det = DriftDetector()
    levels = []
    for x in xs:
        det.learn_one({"value": float(x)})
        if det.drift_detected:
            levels.append(det.level)
    assert levels and abs(levels[0] - 44.0) < 1.0


def test_detector_ignores_a_spike_burst() -> None:
    """Five points at 50 spreads score below 1 and raise no drift."""
    rng = np.random.default_rng(10)
    xs = rng.standard_normal(3000)
    xs[2000:2005] += 50.0
    scores, drifts = detector_run(DriftDetector(), xs)
    assert drifts == [] and max(scores) < 1.0 and max(scores[2000:2005]) > 0.0
