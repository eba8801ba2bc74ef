"""Range records: values beyond everything a series has shown, alone and in the ensemble."""

from __future__ import annotations

import numpy as np

from aiops.config.detect import DetectConfig, preset
from aiops.detect.bank import DetectorBank
from aiops.detect.config import Params
from aiops.detect.ensemble import Ensemble
from aiops.detect.records import RangeRecords
from aiops.model import Sample, SeriesKey


def test_a_value_beyond_the_range_by_more_than_the_tolerance_is_a_record() -> None:
    """Range 0..10 with tolerance 0.05: 10.4 is not a record, 10.6 and -0.6 are."""
    rec = RangeRecords(tolerance=0.05)
    rec.grow(3)
    for v in (0.0, 10.0, 5.0):
        rec.learn(np.full(3, v), np.ones(3, dtype=bool))
    assert rec.check(np.array([10.4, 10.6, -0.6])).tolist() == [False, True, True]


def test_a_series_without_a_range_yet_never_sets_a_record() -> None:
    """One value seen (width 0) or none: nothing is a record yet."""
    rec = RangeRecords(tolerance=0.0)
    rec.grow(2)
    rec.learn(np.array([5.0, np.nan]), np.array([True, False]))
    assert rec.check(np.array([50.0, 50.0])).tolist() == [False, False]


def test_nan_and_masked_rows_leave_the_range_alone() -> None:
    """A NaN or a masked row neither widens nor poisons the range."""
    rec = RangeRecords(tolerance=0.0)
    rec.grow(2)
    for v in (1.0, 2.0):
        rec.learn(np.full(2, v), np.ones(2, dtype=bool))
    rec.learn(np.array([np.nan, 100.0]), np.array([True, False]))
    assert rec.lo.tolist()[:2] == [1.0, 1.0]
    assert rec.hi.tolist()[:2] == [2.0, 2.0]
    assert rec.check(np.array([2.5, 2.5])).tolist() == [True, True]


def test_growing_keeps_old_rows_and_starts_new_ones_empty() -> None:
    """Rows added later know nothing; existing rows keep their range."""
    rec = RangeRecords(tolerance=0.0)
    rec.grow(1)
    rec.learn(np.array([1.0]), np.array([True]))
    rec.learn(np.array([3.0]), np.array([True]))
    rec.grow(40)
    assert (rec.lo[0], rec.hi[0]) == (1.0, 3.0)
    assert np.isinf(rec.lo[1:40]).all() and np.isinf(rec.hi[1:40]).all()


def _bursty(n: int, seed: int = 0) -> np.ndarray:
    """Mostly zero with frequent bursts to about 100: bursts are this series' normal."""
    rng = np.random.default_rng(seed)
    v = np.abs(rng.normal(0.0, 1.0, n))
    bursts = rng.random(n) < 0.05
    v[bursts] = 100.0 + rng.normal(0.0, 2.0, bursts.sum())
    return v


def _scores(params: Params, v: np.ndarray) -> np.ndarray:
    ens = Ensemble(params)
    ens.grow(1)
    return np.array([ens.step_scores(np.array([x]))[0] for x in v])


def test_in_the_ensemble_a_new_maximum_scores_high_and_a_usual_burst_does_not_gain() -> None:
    """A burst 50% above any before scores >= 0.99; a usual burst scores as without records."""
    v = _bursty(3000)
    usual = 2990
    v[usual] = 100.0
    v[-1] = 150.0
    on = _scores(Params(records=True), v)
    off = _scores(Params(), v)
    assert on[-1] >= 0.99
    assert on[usual] == off[usual]
    np.testing.assert_array_equal(on[:-1][on[:-1] < 0.99], off[:-1][on[:-1] < 0.99])


def test_records_wait_for_warm_up() -> None:
    """While a series warms up, its range is still being found: no record scores."""
    v = np.arange(1.0, 31.0)  # every value a new maximum
    scores = _scores(Params(warmup=30, records=True), v)
    assert (scores == 0.0).all()


def test_records_survive_a_snapshot_and_change_the_state_hash() -> None:
    """The range is part of the state; turning records on changes the snapshot hash."""
    params = Params(records=True)
    ens = Ensemble(params)
    ens.grow(1)
    for x in _bursty(200):
        ens.step_scores(np.array([x]))
    copy = Ensemble(params)
    copy.load(ens.state())
    probe = np.array([140.0])
    assert copy.step_scores(probe)[0] == ens.step_scores(probe)[0] >= 0.99
    assert params.state_hash() != Params().state_hash()
    assert Params(record_tolerance=0.5).state_hash() == Params().state_hash()


def test_the_bank_explains_a_record_as_one() -> None:
    """A record the statistics would shrug at: its Score says kind 'record' and why."""
    bank = DetectorBank(DetectConfig(records=True))
    key = SeriesKey.of("net_in", host="a")
    for i, x in enumerate(_bursty(400)):
        bank.update([Sample(key=key, t=60.0 * i, value=float(x))])
    # 10% beyond every burst so far: statistically like a burst, but higher than ever.
    [score] = bank.update([Sample(key=key, t=60.0 * 400, value=110.0)])
    assert score.kind == "record"
    assert score.score >= 0.5
    assert score.why.endswith(f": record, score {score.score:.2f}")


def test_a_nab_preset_bank_snapshot_continues_exactly() -> None:
    """Every part of the nab preset's state (views, envelopes, records, quiet) survives."""
    cfg = DetectConfig.model_validate(
        {**preset("default").model_dump(), "warmup": 30, "drift_threshold": 20.0}
    )
    values = _bursty(2 * 288 + 50, seed=4)
    a = DetectorBank(cfg)
    t = 300.0 * np.arange(len(values))
    for i in range(2 * 288):
        a.update_arrays(values[i : i + 1], t[i])
    b = DetectorBank(cfg)
    b.restore(a.snapshot())
    for i in range(2 * 288, len(values)):
        np.testing.assert_array_equal(
            a.update_arrays(values[i : i + 1], t[i]), b.update_arrays(values[i : i + 1], t[i])
        )


def _learnt(values: np.ndarray, tolerance: float = 0.02) -> RangeRecords:
    rec = RangeRecords(tolerance=tolerance)
    rec.grow(1)
    for v in values:
        rec.learn(np.array([v]), np.array([True]))
    return rec


def test_exchangeable_noise_keeps_its_full_count_of_chances() -> None:
    """After i.i.d. noise the record evidence is log10 n plus the tail: the cap does not bind."""
    rng = np.random.default_rng(7)
    n = 4000
    rec = _learnt(rng.normal(0.0, 1.0, n))
    assert np.exp(rec.records[0] + 1.0) > n  # about ln n records were set
    far = np.array([rec.hi[0] + 0.5 * (rec.hi[0] - rec.lo[0])])
    width = rec.hi[0] - rec.lo[0]
    expected = np.log10(n) + 0.5 * width / (0.02 * width * np.log(10.0))
    np.testing.assert_allclose(rec.decades(far), [expected])


def test_a_daily_spike_topping_the_last_few_is_not_a_one_in_n_event() -> None:
    """A series whose extremes come from a few events has few chances to set a record."""
    rng = np.random.default_rng(1)
    days, per_day = 12, 288
    v = 0.1 + 0.002 * rng.integers(0, 2, days * per_day)  # a quantized floor, found at once
    v[100::per_day] = 1.40 + 0.02 * rng.random(days)  # the same job, a little different each day
    spiky = _learnt(v)
    iid = _learnt(rng.normal(0.0, 1.0, days * per_day))
    assert spiky.records[0] <= 4 < iid.records[0]

    def just_above(rec: RangeRecords) -> np.ndarray:
        return np.array([rec.hi[0] + 0.05 * (rec.hi[0] - rec.lo[0])])

    # The same relative step beyond the range: over 30x likelier on the spiky series.
    assert 0 < spiky.decades(just_above(spiky))[0] < iid.decades(just_above(iid))[0] - 1.5
    assert iid.decades(just_above(iid))[0] > np.log10(days * per_day)  # i.i.d.: full count


def test_a_snapshot_from_before_records_were_counted_prices_as_before() -> None:
    """Restoring range state without the record count leaves the evidence at log10 n."""
    params = Params(records=True)
    ens = Ensemble(params)
    ens.grow(1)
    rng = np.random.default_rng(2)
    for x in rng.normal(10.0, 1.0, 500):
        ens.step_scores(np.array([x]))
    old = {k: a for k, a in ens.state().items() if k != "x.records"}
    copy = Ensemble(params)
    copy.load(old)
    assert copy.records is not None
    assert np.exp(copy.records.records[0] + 1.0) > copy.records.count[0]
    value = np.array([copy.records.hi[0] + 10.0])
    rec = copy.records
    width = rec.hi[0] - rec.lo[0]
    scale = max(0.02 * width, 1e-12)
    np.testing.assert_allclose(rec.decades(value, np.array([scale])),
                               [np.log10(rec.count[0]) + 10.0 / (scale * np.log(10.0))])
