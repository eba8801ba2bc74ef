"""Contract tests every forecaster must pass: snapshots, determinism, memory, gaps, bands."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest

from aiops.forecast.base import Forecaster, SnapshotMismatch, VectorForecaster
from aiops.forecast.catalog import FORECASTERS, make_forecaster

# Small periods (step of 3 h: daily 8, weekly 56) keep the contract tests fast.
STEP = 3 * 3600.0
NAMES = sorted(FORECASTERS)


def series(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    daily = 1.0 + 0.5 * np.sin(2 * np.pi * t / 8)
    weekly = 1.0 + 0.2 * (t % 56 >= 40)
    return 100.0 * daily * weekly * (1.0 + 0.05 * rng.standard_normal(n))


def fresh(name: str, **kw: object) -> VectorForecaster:
    return make_forecaster(name, step=STEP, max_horizon=8, residual_window=64, **kw)


@pytest.mark.parametrize("name", NAMES)
def test_satisfies_protocol(name: str) -> None:
    """Every catalogued forecaster satisfies the Forecaster protocol."""
    assert isinstance(fresh(name), Forecaster)


@pytest.mark.parametrize("name", NAMES)
def test_snapshot_round_trip_continues_identically(name: str) -> None:
    """An npz snapshot (no pickle) restored into a fresh instance continues bit for bit."""
    y = series(200)
    a = fresh(name)
    for v in y[:150]:
        a.learn_one(float(v))
    b = fresh(name)
    snap = a.snapshot()
    with np.load(io.BytesIO(snap), allow_pickle=False) as z:
        assert "__meta__" in z.files and "steps" in z.files
    b.restore(snap)
    assert b.snapshot() == snap
    c = pickle.loads(pickle.dumps(a))
    for v in y[150:]:
        a.learn_one(float(v))
        b.learn_one(float(v))
        c.learn_one(float(v))
    np.testing.assert_array_equal(a.forecast(8), b.forecast(8))
    np.testing.assert_array_equal(a.forecast(8), c.forecast(8))
    np.testing.assert_array_equal(a.interval(8, 0.9)[1], b.interval(8, 0.9)[1])


@pytest.mark.parametrize("name", NAMES)
def test_restore_refuses_other_config(name: str) -> None:
    """A snapshot taken under another configuration is refused, not half-loaded."""
    a = fresh(name)
    a.learn_one(1.0)
    other = make_forecaster(name, step=STEP, max_horizon=9, residual_window=64)
    with pytest.raises(SnapshotMismatch):
        other.restore(a.snapshot())


@pytest.mark.parametrize("name", NAMES)
def test_deterministic(name: str) -> None:
    """Two instances fed the same points produce the same forecasts and bands."""
    y = series(300, seed=3)
    a, b = fresh(name), fresh(name)
    for v in y:
        a.learn_one(float(v))
        b.learn_one(float(v))
    np.testing.assert_array_equal(a.forecast(8), b.forecast(8))
    np.testing.assert_array_equal(a.interval(8, 0.8)[0], b.interval(8, 0.8)[0])


@pytest.mark.parametrize("name", NAMES)
def test_bounded_memory(name: str) -> None:
    """State size stops growing once the windows are full, however long the stream."""
    f = fresh(name)
    y = series(2000, seed=1)
    for v in y[:500]:
        f.learn_one(float(v))
    size = f.state_nbytes()
    pickled = len(f.snapshot())
    for v in y[500:]:
        f.learn_one(float(v))
    assert f.state_nbytes() == size
    assert len(f.snapshot()) <= pickled * 1.05


@pytest.mark.parametrize("name", NAMES)
def test_gaps_skipped_and_counted(name: str) -> None:
    """NaN and inf are counted as skipped, never learnt, and forecasts stay finite."""
    y = series(300, seed=2)
    f = fresh(name)
    gaps = {50, 51, 52, 120, 199}
    for i, v in enumerate(y):
        f.learn_one(float("nan") if i in gaps else (float("inf") if i == 250 else float(v)))
    assert int(f.skipped[0]) == len(gaps) + 1
    assert int(f.seen[0]) == len(y) - len(gaps) - 1
    assert np.isfinite(f.forecast(8)).all()
    lo, hi = f.interval(8, 0.9)
    assert np.isfinite(lo).all() and np.isfinite(hi).all()


@pytest.mark.parametrize("name", NAMES)
def test_gap_is_not_learnt(name: str) -> None:
    """A gap is not learnt: its forecasts differ from learning a huge value and stay sane."""
    y = series(200, seed=4)
    a, b = fresh(name), fresh(name)
    for v in y:
        a.learn_one(float(v))
        b.learn_one(float(v))
    a.learn_one(float("nan"))
    b.learn_one(1e6)
    gap, spike = a.forecast(64), b.forecast(64)  # longer than the weekly period (56)
    assert np.isfinite(gap).all()
    assert gap.max() < 10 * y.max()
    assert spike.max() > gap.max()


@pytest.mark.parametrize("name", NAMES)
def test_vectorized_matches_single_series(name: str) -> None:
    """Learning several series at once gives each the forecast it gets alone."""
    ys = np.stack([series(250, seed=s) for s in range(3)], axis=1)
    many = fresh(name, n_series=3)
    singles = [fresh(name) for _ in range(3)]
    for row in ys:
        many.learn_many(row)
        for i, f in enumerate(singles):
            f.learn_one(float(row[i]))
    for i, f in enumerate(singles):
        np.testing.assert_allclose(many.forecast_many(8)[i], f.forecast(8), rtol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_interval_brackets_forecast_and_widens_with_quantile(name: str) -> None:
    """Bands contain the point forecast, and a higher quantile never narrows them."""
    f = fresh(name)
    for v in series(400, seed=5):
        f.learn_one(float(v))
    point = f.forecast(8)
    lo80, hi80 = f.interval(8, 0.8)
    lo95, hi95 = f.interval(8, 0.95)
    assert (lo80 <= point).all() and (point <= hi80).all()
    assert (hi95 >= hi80).all() and (lo95 <= lo80).all()
    assert (hi95 > point).any()


@pytest.mark.parametrize("name", NAMES)
def test_garbage_is_not_a_snapshot(name: str) -> None:
    """Bytes that are not a forecaster snapshot are refused with SnapshotMismatch."""
    with pytest.raises(SnapshotMismatch):
        fresh(name).restore(b"not an npz")
    with pytest.raises(SnapshotMismatch):
        fresh(name).restore(pickle.dumps({"config_hash": "x", "state": {}}))


def night_and_day(n: int, seed: int = 5) -> np.ndarray:
    """Commuter-like: near-zero nights (noisy in relative terms), busy regular days."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) % 8
    day = np.where(t >= 4, 1000.0 * (1.0 + 0.03 * rng.standard_normal(n)), 0.0)
    night = rng.uniform(0.0, 5.0, n)
    return day + night


def test_scale_floor_keeps_quiet_nights_out_of_the_busy_band() -> None:
    """Relative residuals over |forecast| + a floor: nights do not widen the daytime band."""
    y = night_and_day(600)
    bands = []
    for floor in (0.0, 0.1):
        f = make_forecaster("seasonal_naive_daily", step=STEP, max_horizon=8,
                            residual_window=256, scale_floor=floor)
        for v in y[:-4]:  # stop where the next step is a busy one
            f.learn_one(float(v))
        point = f.forecast(1)[0]
        assert point > 500.0
        bands.append(f.interval(1, 0.9)[1][0] / point)
    assert bands[1] < bands[0]
    assert bands[1] < 1.15


def test_adaptive_band_recovers_coverage_after_a_shift() -> None:
    """After demand jumps 30%, the adaptive band covers more than the static one."""
    y = series(700, seed=7)
    y[400:] *= 1.3
    cover = []
    for rate in (0.0, 0.02):
        f = fresh("seasonal_naive_weekly", adapt_rate=rate)
        hits = []
        for i, v in enumerate(y):
            if i >= 420:
                hits.append(v <= f.interval(1, 0.9)[1][0])
            f.learn_one(float(v))
        cover.append(float(np.mean(hits[:60])))
    assert cover[1] > cover[0]


def test_multi_seasonal_offset_tames_near_zero_nights() -> None:
    """The log offset keeps night noise from wrecking the busy hours' forecast."""
    y = night_and_day(56 * 8, seed=2)
    err = []
    for offset in (0.0, 0.1):
        f = make_forecaster("multi_seasonal", step=STEP, max_horizon=8, offset=offset)
        e = []
        for i, v in enumerate(y):
            if i > 56 * 4 and i % 8 >= 4:
                e.append(abs(f.forecast(3)[-1] - y[min(i + 2, len(y) - 1)]))
            f.learn_one(float(v))
        err.append(float(np.mean(e)))
    assert err[1] < err[0]
