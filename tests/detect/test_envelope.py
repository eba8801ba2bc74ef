"""The recurring-pattern envelope and its discount in the ensemble."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from aiops.config.detect import DetectConfig
from aiops.detect.config import Params
from aiops.detect.ensemble import Ensemble
from aiops.detect.envelope import PhaseEnvelope

DAY = 86400.0
STEP = 300.0  # 5-minute samples, 288 a day


def _nightly(days: int, spike_at: int = 24, rng_seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A noisy flat series with a spike to ~10x at the same sample of every day.

    Each day's spike is 5% lower than the day before's (no new extreme).
    """
    rng = np.random.default_rng(rng_seed)
    n = 288 * days
    t = STEP * np.arange(n)
    v = 1.0 + 0.05 * rng.normal(size=n)
    v[spike_at::288] = 10.0 * 0.95 ** np.arange(len(v[spike_at::288]))
    return t, v


def _run(params: Params, t: np.ndarray, v: np.ndarray) -> np.ndarray:
    ens = Ensemble(params)
    ens.grow(1)
    pairs = zip(t, v, strict=True)
    return np.array([ens.step_scores(np.array([x]), np.array([s]))[0] for s, x in pairs])


def test_inside_only_at_the_phase_where_the_value_was_seen() -> None:
    """A value seen at 02:00 on past days is inside the 02:00 envelope but not at noon."""
    env = PhaseEnvelope(period=DAY, bins=24, halflife=300.0, neighbours=0)
    env.grow(2)
    for day in range(3):
        for h in range(24):
            tt = np.full(2, day * DAY + h * 3600.0)
            env.learn(np.array([9.0 if h == 2 else 1.0, 1.0]), tt, np.array([True, True]))
    at2 = np.full(2, 3 * DAY + 2 * 3600.0)
    noon = np.full(2, 3 * DAY + 12 * 3600.0)
    assert env.inside(np.array([8.0, 8.0]), at2).tolist() == [True, False]
    assert env.inside(np.array([8.0, 8.0]), noon).tolist() == [False, False]


def test_neighbouring_bins_cover_a_job_that_drifts_by_one_bin() -> None:
    """With neighbours=1 a peak seen at 02:00 covers 03:00; with neighbours=0 it does not."""
    wide = PhaseEnvelope(period=DAY, bins=24, halflife=300.0, neighbours=1)
    narrow = PhaseEnvelope(period=DAY, bins=24, halflife=300.0, neighbours=0)
    for env in (wide, narrow):
        env.grow(1)
        for h in range(24):
            env.learn(np.array([9.0 if h == 2 else 1.0]), np.array([h * 3600.0]),
                      np.array([True]))
    at3 = np.array([DAY + 3 * 3600.0])
    assert wide.inside(np.array([8.0]), at3).tolist() == [True]
    assert narrow.inside(np.array([8.0]), at3).tolist() == [False]


def test_extremes_relax_towards_the_level_when_the_peak_stops() -> None:
    """A peak counts from the next visit on; after many calm visits it no longer does."""
    env = PhaseEnvelope(period=DAY, bins=1, halflife=20.0, neighbours=0)
    env.grow(1)
    ok = np.array([True])
    env.learn(np.array([1.0]), np.array([0.0]), ok)
    env.learn(np.array([9.0]), np.array([1.0]), ok)
    # Today's values count once the visit is over: the next day, 8 has been seen.
    assert env.inside(np.array([8.0]), np.array([2.0])).tolist() == [False]
    env.learn(np.array([1.0]), np.array([DAY]), ok)
    assert env.inside(np.array([8.0]), np.array([DAY + 1.0])).tolist() == [True]
    for i in range(200):
        env.learn(np.array([1.0]), np.array([(2.0 + i) * DAY]), ok)
    assert env.inside(np.array([8.0]), np.array([203.0 * DAY])).tolist() == [False]


def test_memory_counts_periods_not_samples() -> None:
    """A peak is remembered for as many days at 15 s sampling as at 5 min sampling.

    Two series see the same day (a peak of 9 in the 02:00 bin, 1 elsewhere) and then
    the same calm days, one sampled every 15 s, one every 5 min: after each calm day
    both envelopes hold the same extreme at 02:00 (up to the long-run level they relax
    towards, which the peak's samples move a little differently).
    """
    envs = [PhaseEnvelope(period=DAY, bins=24, halflife=3.0, neighbours=0) for _ in range(2)]
    for env in envs:
        env.grow(1)
    ok = np.array([True])
    highs: list[list[float]] = [[], []]
    for k, step in enumerate((15.0, 300.0)):
        for t in np.arange(0.0, 8 * DAY, step):
            peak = t < DAY and 2 * 3600.0 <= t < 3 * 3600.0
            envs[k].learn(np.array([9.0 if peak else 1.0]), np.array([t]), ok)
            if t % DAY == 0.0:
                highs[k].append(float(envs[k].hi[2, 0]))
    np.testing.assert_allclose(highs[0], highs[1], rtol=0.01)
    assert highs[0][-1] < highs[0][2] < 9.0  # it does relax, one step per day


def test_masked_rows_and_nan_do_not_touch_the_envelope() -> None:
    """Rows outside the mask (NaN samples) leave their envelope empty."""
    env = PhaseEnvelope(period=DAY, bins=4, halflife=50.0, neighbours=0)
    env.grow(2)
    env.learn(np.array([5.0, np.nan]), np.zeros(2), np.array([True, False]))
    assert env.inside(np.array([5.0, 5.0]), np.zeros(2)).tolist() == [True, False]
    assert np.isneginf(env.hi[:, 1]).all() and np.isposinf(env.lo[:, 1]).all()


def test_recurring_spike_is_discounted_but_a_new_extreme_keeps_its_score() -> None:
    """A repeated daily spike scores x discount; a new, bigger one keeps its full score."""
    t, v = _nightly(days=6)
    v[-288 + 24] = 30.0  # the last day's spike is three times the usual one
    base = Params(warmup=30)
    env = Params(warmup=30, recurring_period=DAY, recurring_bins=24, recurring_discount=0.5)
    plain, discounted = _run(base, t, v), _run(env, t, v)
    repeats = np.arange(24 + 288, len(v) - 288, 288)  # days 2..5: the envelope knows it
    assert (plain[repeats] >= 0.9).all()
    np.testing.assert_allclose(discounted[repeats], 0.5 * plain[repeats])
    assert discounted[-288 + 24] == plain[-288 + 24] >= 0.9


def test_envelope_off_changes_nothing_and_keeps_the_state_hash() -> None:
    """With recurring_period 0 scores and the snapshot hash are as without the feature."""
    t, v = _nightly(days=2)
    off = Params(warmup=30, recurring_discount=0.5)
    np.testing.assert_array_equal(_run(off, t, v), _run(Params(warmup=30), t, v))
    assert off.state_hash() == Params(warmup=30).state_hash()
    assert Params(recurring_period=DAY).state_hash() != Params().state_hash()


def test_margin_stretches_the_envelope_away_from_the_level() -> None:
    """With margin 0.5, a peak 9 above a level of 1 covers values up to 1 + 1.5 * 8."""
    env = PhaseEnvelope(period=DAY, bins=1, halflife=300.0, neighbours=0, margin=0.5)
    env.grow(1)
    level = np.array([1.0])
    env.learn(np.array([9.0]), np.array([0.0]), np.array([True]), center=level)
    env.learn(np.array([1.0]), np.array([DAY]), np.array([True]), center=level)  # next day
    assert env.inside(np.array([12.9]), np.array([DAY]), center=level).tolist() == [True]
    assert env.inside(np.array([13.1]), np.array([DAY]), center=level).tolist() == [False]
    assert env.center[0] == 0.0  # a borrowed level leaves the own level alone


def _growing_nightly(days: int) -> tuple[np.ndarray, np.ndarray]:
    """A flat noisy series whose 05:00 spike grows 10% a night (a new extreme each time)."""
    rng = np.random.default_rng(3)
    n = 288 * days
    t = STEP * np.arange(n)
    v = 1.0 + 0.05 * rng.normal(size=n)
    v[60::288] = 10.0 * 1.1 ** np.arange(len(v[60::288]))
    return t, v


def test_a_growing_nightly_spike_is_a_repeat_though_each_night_is_a_new_extreme() -> None:
    """The envelope misses a spike 10% above last night's; the repeat memory discounts it."""
    t, v = _growing_nightly(days=6)
    env = dict(warmup=30, recurring_period=DAY, recurring_bins=24, recurring_discount=0.75)
    plain = _run(Params(**env), t, v)
    repeat = _run(Params(**env, repeat_discount=0.2, repeat_margin=0.5), t, v)
    nights = np.arange(60 + 288, len(v), 288)
    assert (plain[nights] >= 0.9).all()  # each night beyond the envelope: full score
    np.testing.assert_allclose(repeat[nights], 0.2 * plain[nights])
    assert repeat[60] == plain[60] >= 0.9  # the first night is news


def test_a_repeat_needs_a_past_anomaly_at_that_phase_not_just_noise() -> None:
    """A first spike at a new hour keeps its score although the series had spikes before."""
    t, v = _growing_nightly(days=5)
    v[-288 + 150] = 12.0  # 12:30 on the last day: never anomalous at that hour
    params = Params(warmup=30, recurring_period=DAY, recurring_bins=24, recurring_discount=0.75,
                    repeat_discount=0.2)
    scores = _run(params, t, v)
    assert scores[-288 + 150] >= 0.9


def test_repeat_memory_off_keeps_the_state_hash_and_the_scores() -> None:
    """repeat_discount 1 changes nothing, and snapshots of the envelope stay valid."""
    t, v = _growing_nightly(days=2)
    env = dict(warmup=30, recurring_period=DAY, recurring_discount=0.75)
    off = Params(**env, repeat_level=0.5, repeat_margin=2.0)
    np.testing.assert_array_equal(_run(off, t, v), _run(Params(**env), t, v))
    assert off.state_hash() == Params(**env).state_hash()
    assert Params(**env, repeat_discount=0.2).state_hash() != Params(**env).state_hash()


def _flat_minutes(days: int, seed: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """A noisy flat series sampled every minute."""
    rng = np.random.default_rng(seed)
    t = 60.0 * np.arange(days * 1440)
    return t, 1.0 + 0.05 * rng.normal(size=len(t))


def test_a_fault_starting_a_minute_before_an_hour_is_not_seen_by_its_own_start() -> None:
    """The fault's first minutes, in the bin just ended, do not discount the rest of it."""
    t, v = _flat_minutes(days=2)
    onset = 1440 + 2 * 60 - 2  # day 1, 01:58: the 01:00 visit ends at 02:00
    v[onset : onset + 40] = 3.0
    default = Params.from_config(DetectConfig())
    on = _run(default, t, v)
    off = _run(replace(default, recurring_period=0.0), t, v)  # no envelope at all
    after = slice(onset + 2, onset + 30)  # 02:00 to 02:28, the neighbour consulted
    assert (on[after] >= 0.9).all()
    np.testing.assert_allclose(on[after], off[after])


def test_a_separate_burst_an_hour_later_is_seen_at_the_neighbouring_phase() -> None:
    """A burst whose run ended before the bin did still counts for the next bin."""
    t, v = _flat_minutes(days=2)
    first = 1440 + 60 + 50  # day 1, 01:50, one sample
    v[first] = 3.0
    v[first + 20] = 2.9  # 02:10, lower: within what 01:00 saw today
    default = Params.from_config(DetectConfig())
    on = _run(default, t, v)
    off = _run(replace(default, recurring_period=0.0), t, v)
    assert on[first + 20] < 0.5 * off[first + 20]


def test_an_envelope_snapshot_from_before_held_visits_restores() -> None:
    """State saved before recent visits were kept loads (none recent) and keeps scoring."""
    t, v = _nightly(days=3)
    params = Params.from_config(DetectConfig())
    a = Ensemble(params)
    a.grow(1)
    for s, x in zip(t[:700], v[:700], strict=True):
        a.step_scores(np.array([x]), np.array([s]))
    old = {k: s for k, s in a.state().items() if not k.endswith(".recent")}
    b = Ensemble(params)
    b.load(old)
    assert b.envelope is not None and (b.envelope.recent[0] == -1.0).all()
    # Single-sample spikes never form a run, so the recent visits change no score here.
    rest = list(zip(t[700:], v[700:], strict=True))
    want = [a.step_scores(np.array([x]), np.array([s]))[0] for s, x in rest]
    got = [b.step_scores(np.array([x]), np.array([s]))[0] for s, x in rest]
    np.testing.assert_array_equal(got, want)


def test_one_shared_scrape_time_gives_what_per_row_phases_give() -> None:
    """Rows queried together at one time (row views) match each row queried alone."""
    rng = np.random.default_rng(3)
    rows = 40
    together = PhaseEnvelope(period=DAY, bins=24, halflife=25.0, neighbours=1)
    together.grow(rows)
    offsets = rng.integers(0, 24, rows) * 3600.0  # each series its own phase
    for i in range(24 * 5):
        v = rng.gamma(2.0, 1.0, rows) * np.where(rng.random(rows) < 0.05, 8.0, 1.0)
        together.learn(v, i * 1800.0 + offsets, rng.random(rows) < 0.9)
    t = 24 * 5 * 1800.0 + offsets
    values = rng.gamma(2.0, 2.0, rows)
    run = np.where(rng.random(rows) < 0.5, t - rng.uniform(0, 7200, rows), np.nan)
    shared = [together.inside(values[k:k + 1], t[k:k + 1], slice(k, k + 1), run=run[k:k + 1])
              for k in range(rows)]
    assert together.inside(values, t, run=run).tolist() == np.concatenate(shared).tolist()
    assert 0 < np.concatenate(shared).sum() < rows  # both verdicts occur
