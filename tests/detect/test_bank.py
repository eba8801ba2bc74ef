"""Contract tests of the detector bank the daemon calls every cycle."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiops.config.detect import DetectConfig, preset
from aiops.detect.bank import DetectorBank, DetectorStateChanged
from aiops.detect.base import Bank
from aiops.detect.config import Params
from aiops.detect.ensemble import Ensemble
from aiops.detect.robust import KINDS, MAX_ABS, STATISTICS, Evidence
from aiops.model import Sample, Score, SeriesKey
from tests.detect.streams import METRICS, workload

KEY = SeriesKey.of("latency_p99", workload="checkout", namespace="shop")


def feed(
    bank: DetectorBank, values: list[float], key: SeriesKey = KEY, t0: float = 0.0
) -> list[Score]:
    out: list[Score] = []
    for i, v in enumerate(values):
        out.extend(bank.update([Sample(key=key, t=t0 + 15.0 * i, value=v)]))
    return out


def noise(n: int, seed: int = 0, level: float = 0.2, sd: float = 0.01) -> list[float]:
    return list(level + sd * np.random.default_rng(seed).standard_normal(n))


def test_bank_satisfies_protocol() -> None:
    """DetectorBank is a Bank (update, snapshot, restore)."""
    bank: Bank = DetectorBank(DetectConfig())
    assert bank.update([]) == []


def test_one_score_per_valid_sample_with_fields_in_range() -> None:
    """Each valid sample yields one Score in [0, 1] with a band around the expected value."""
    bank = DetectorBank(DetectConfig(warmup=5))
    keys = [SeriesKey.of(m, workload="w") for m in METRICS]
    for i in range(60):
        samples = [Sample(key=k, t=15.0 * i, value=1.0 + j + 0.01 * (i % 4))
                   for j, k in enumerate(keys)]
        scores = bank.update(samples)
        assert [s.key for s in scores] == keys
        for s in scores:
            assert 0.0 <= s.score <= 1.0
            if s.warm:
                assert s.lower <= s.expected <= s.upper
                assert s.key.metric in s.why
    assert len(bank) == len(keys)


def test_warmup_scores_zero_and_not_warm() -> None:
    """The first `warmup` samples of a series score 0 with warm=False, even if wild."""
    bank = DetectorBank(DetectConfig(warmup=10))
    scores = feed(bank, [1.0, 1000.0, -50.0, 3.0, 1e6, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0])
    assert all(s.score == 0.0 and not s.warm for s in scores[:10])
    assert "warming up" in scores[0].why
    assert scores[10].warm


def test_nan_and_inf_are_skipped_counted_and_never_poison_state() -> None:
    """NaN/inf samples give no Score, are counted, and leave later scores unchanged."""
    clean = noise(200)
    dirty: list[Sample] = []
    for i, v in enumerate(clean):
        dirty.append(Sample(key=KEY, t=15.0 * i, value=v))
        if i % 17 == 0:  # a gap between two samples, at its own time
            dirty.append(Sample(key=KEY, t=15.0 * i + 7.5,
                                value=float("nan") if i % 2 else float("inf")))
    a, b = DetectorBank(DetectConfig()), DetectorBank(DetectConfig())
    sa = feed(a, clean)
    sb = [s for sample in dirty for s in b.update([sample])]
    assert b.skipped == len(dirty) - len(clean) and a.skipped == 0
    assert [s.score for s in sa] == [s.score for s in sb]
    assert all(math.isfinite(s.expected) for s in sb)


def test_spike_scores_high_and_is_not_learnt() -> None:
    """A 5x spike scores >= 0.9 as a spike and does not move the expected value."""
    bank = DetectorBank(DetectConfig())
    before = feed(bank, noise(300))[-1]
    [spike] = bank.update([Sample(key=KEY, t=1e4, value=1.0)])
    [after] = bank.update([Sample(key=KEY, t=1e4 + 15, value=0.2)])
    assert spike.score >= 0.9 and spike.kind == "spike" and "spike" in spike.detectors
    assert "above expected" in spike.why
    assert after.expected == pytest.approx(spike.expected, rel=0.02)
    assert abs(spike.expected - before.expected) < 0.01


def test_the_samples_after_a_spike_back_at_normal_are_no_level_shift() -> None:
    """Once the value is back to normal, the spike still in the fast level is no shift."""
    bank = DetectorBank(DetectConfig())
    feed(bank, noise(300))
    [spike] = bank.update([Sample(key=KEY, t=1e4, value=1.0)])
    after = feed(bank, [0.2] * 10, t0=1e4 + 15)
    assert spike.score >= 0.9
    assert max(s.score for s in after) < 0.32


def test_persistent_level_shift_is_adopted() -> None:
    """A level shift scores high at first and is accepted as the new normal later."""
    cfg = DetectConfig()
    bank = DetectorBank(cfg)
    feed(bank, noise(300))
    shifted = feed(bank, noise(300, seed=1, level=0.6), t0=1e5)
    assert shifted[0].score >= 0.9
    assert {s.kind for s in shifted[:5]} & {"spike", "level-shift"}
    assert max(s.score for s in shifted[-100:]) < cfg.threshold
    assert shifted[-1].expected == pytest.approx(0.6, abs=0.02)


def sandbox(n: int, seeds: range) -> tuple[np.ndarray, list[str]]:
    ws = [workload(n, s) for s in seeds]
    cols = [w[m] for w in ws for m in METRICS]
    return np.stack(cols, axis=1), [m for _ in ws for m in METRICS]


def test_fault_free_sandbox_day_essentially_never_reaches_signal_floor() -> None:
    """A fault-free day (24 series, 15 s): continuous metrics stay below 0.9; counts nearly."""
    x, names = sandbox(5760, range(4))
    bank = DetectorBank(DetectConfig())
    scores = np.stack([bank.update_arrays(row, 15.0 * i) for i, row in enumerate(x)])
    hits = (scores >= 0.9).sum(axis=0)
    counts = np.array([n == "error_rate" for n in names])
    assert hits[~counts].sum() == 0, dict(zip(names, hits, strict=True))
    # Poisson error counts see one-in-a-million bursts; at most one point in 23,040.
    assert hits[counts].sum() <= 1, dict(zip(names, hits, strict=True))


@pytest.mark.parametrize(
    ("metric", "fault"),
    [
        ("latency_p99", lambda v, i: v * 5.0),
        ("request_rate", lambda v, i: v * 3.0),
        ("ready_replicas", lambda v, i: 1.0),
        ("memory_usage", lambda v, i: v * (1.0 + 0.002 * i)),
    ],
    ids=["latency-x5", "traffic-surge", "crash-loop", "memory-leak"],
)
def test_sandbox_faults_reach_signal_floor(metric: str, fault) -> None:  # type: ignore[no-untyped-def]
    """Latency x5, a 3x surge, replicas dropping and a steady leak all reach 0.9 within 2 h."""
    w = workload(3500, seed=1)
    start = 3000
    series = w[metric].copy()
    for i in range(start, len(series)):
        series[i] = fault(series[i], i - start)
    bank = DetectorBank(DetectConfig())
    scores = np.array([bank.update_arrays(np.array([v]), 15.0 * i)[0]
                       for i, v in enumerate(series)])
    assert scores[:start].max() < 0.9
    assert scores[start:].max() >= 0.9


def test_snapshot_restore_round_trip_continues_identically() -> None:
    """A restored bank scores the rest of a stream exactly like the original."""
    cfg = DetectConfig()
    a = DetectorBank(cfg)
    feed(a, noise(100))
    b = DetectorBank(cfg)
    b.restore(a.snapshot())
    rest = [*noise(50, seed=3), 0.9]
    assert [s.score for s in feed(a, rest)] == [s.score for s in feed(b, rest)]
    assert b.keys == [KEY]


def test_restore_with_changed_config_starts_fresh_and_says_so() -> None:
    """A snapshot from another config raises 'config changed ... starting fresh'."""
    a = DetectorBank(DetectConfig(alpha=0.05))
    feed(a, noise(50))
    b = DetectorBank(DetectConfig(alpha=0.1))
    with pytest.raises(DetectorStateChanged, match=r"config changed.*starting fresh"):
        b.restore(a.snapshot())
    assert len(b) == 0
    c = DetectorBank(DetectConfig(alpha=0.1))
    assert "starting fresh" in c.restore_or_fresh(a.snapshot())
    assert "restored: 1 series" in DetectorBank(DetectConfig()).restore_or_fresh(a.snapshot())


def test_update_arrays_matches_update() -> None:
    """The array API and the sample API give the same scores on the same data."""
    x, _ = sandbox(400, range(1))
    a, b = DetectorBank(DetectConfig()), DetectorBank(DetectConfig())
    keys = [SeriesKey.of(m) for m in METRICS]
    for i, row in enumerate(x):
        sa = a.update_arrays(row, 15.0 * i)
        sb = b.update([Sample(key=k, t=15.0 * i, value=v) for k, v in zip(keys, row, strict=True)])
        assert list(sa) == [s.score for s in sb]


def test_duplicate_key_in_one_call_scores_both_in_order() -> None:
    """Two samples of one series in one call are both scored, oldest first."""
    bank = DetectorBank(DetectConfig(warmup=1))
    out = bank.update([Sample(key=KEY, t=0.0, value=1.0), Sample(key=KEY, t=15.0, value=1.0)])
    assert [s.t for s in out] == [0.0, 15.0]


@settings(max_examples=30, deadline=None)
@given(values=st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), max_size=60))
def test_bank_never_crashes_on_any_floats(values: list[float]) -> None:
    """Any float stream gives Scores in [0, 1] for usable values and skips the rest."""
    bank = DetectorBank(DetectConfig(warmup=3))
    out = feed(bank, values)
    usable = [v for v in values if math.isfinite(v) and abs(v) <= 1e100]
    assert len(out) == len(usable) and bank.skipped == len(values) - len(usable)
    assert all(0.0 <= s.score <= 1.0 for s in out)


def test_seasonal_bank_snapshot_round_trip_and_time_aware_band() -> None:
    """With seasonal views a restored bank continues identically; bands follow the season."""
    cfg = preset("default")
    a = DetectorBank(cfg)
    day = [5.0 if 8 <= (i * 300 % 86400) / 3600 < 20 else 1.0 for i in range(288 * 9)]
    for i, v in enumerate(day):
        a.update([Sample(key=KEY, t=300.0 * i, value=v)])
    b = DetectorBank(cfg)
    b.restore(a.snapshot())
    t0 = 300.0 * len(day)
    rest = [Sample(key=KEY, t=t0 + 300.0 * i, value=day[i]) for i in range(50)]
    assert [s.score for s in a.update(rest)] == [s.score for s in b.update(rest)]
    noon = 9 * 86400.0 + 12 * 3600.0
    [s] = a.update([Sample(key=KEY, t=noon, value=1.0)])
    assert s.score >= 0.4 and s.lower > 1.0


def test_contributions_name_the_metric_that_moved_within_a_workload() -> None:
    """When latency jumps, its Score ranks latency first among the workload's metrics."""
    w = workload(400, seed=2)
    bank = DetectorBank(DetectConfig())
    keys = {m: SeriesKey.of(m, workload="checkout") for m in METRICS}
    for i in range(399):
        bank.update([Sample(key=keys[m], t=15.0 * i, value=float(w[m][i])) for m in METRICS])
    row = {m: float(w[m][399]) for m in METRICS}
    row["latency_p99"] *= 5
    scores = {s.key.metric: s for s in bank.update(
        [Sample(key=keys[m], t=6000.0, value=v) for m, v in row.items()])}
    lat = scores["latency_p99"]
    assert lat.score >= 0.9 and lat.contributions[0][0] == "latency_p99"
    assert lat.contributions[0][1] > 0.5
    assert scores["memory_usage"].contributions == ()


# -- update() against the per-sample reference ------------------------------------------


class ReferenceBank:
    """The per-sample path ``update`` had before it went column-wise: the semantics to keep.

    One sample at a time: dict of rows, a Score per sample with an f-string ``why``,
    contributions from Python dicts. Same Ensemble underneath, so outputs must be equal.
    """

    def __init__(self, config: DetectConfig) -> None:
        self.params = Params.from_config(config)
        self.core = Ensemble(self.params)
        self.index: dict[SeriesKey, int] = {}
        self.skipped = 0

    def row(self, key: SeriesKey) -> int:
        row = self.index.get(key)
        if row is None:
            row = self.index[key] = len(self.index)
            self.core.grow(row + 1)
        return row

    def update(self, samples: Sequence[Sample]) -> list[Score]:
        out: list[Score] = []
        pending = list(samples)
        while pending:
            batch: dict[int, Sample] = {}
            later: list[Sample] = []
            for s in pending:
                if not (s.valid and abs(s.value) <= MAX_ABS):
                    self.skipped += 1
                    continue
                row = self.row(s.key)
                if row in batch:
                    later.append(s)
                else:
                    batch[row] = s
            if batch:
                x = np.full(self.core.size, np.nan)
                t = np.zeros(self.core.size)
                rows = list(batch)
                x[rows] = [s.value for s in batch.values()]
                t[rows] = [s.t for s in batch.values()]
                ev = self.core.step(x, t)
                shares = reference_contributions(batch, ev)
                out.extend(self.explain(row, s, ev, shares.get(s.key.labels, ()))
                           for row, s in batch.items())
            pending = later
        return out

    def explain(
        self, row: int, s: Sample, ev: Evidence, shares: tuple[tuple[str, float], ...]
    ) -> Score:
        metric = s.key.metric
        if not bool(ev.warm[row]):
            n = self.core.learned(row)
            return Score(
                key=s.key, t=s.t, value=s.value, score=0.0, expected=s.value, lower=s.value,
                upper=s.value, warm=False, kind="none",
                why=f"{metric} warming up ({n}/{self.params.warmup} samples)",
            )
        score, expected = float(ev.score[row]), float(ev.expected[row])
        lower, upper = float(ev.lower[row]), float(ev.upper[row])
        kind = KINDS[int(ev.kind[row])]
        raw = float(ev.raw[row])
        fired: tuple[str, ...] = ()
        if raw >= 0.5:
            a = np.abs(ev.z[:, row])
            order = np.argsort(-a)
            fired = tuple(STATISTICS[i] for i in order
                          if a[i] > 3.0 and a[i] >= 0.7 * a[order[0]])
        if s.value > upper:
            where = f"above expected {expected:.3g}"
        elif s.value < lower:
            where = f"below expected {expected:.3g}"
        else:
            where = f"near expected {expected:.3g}"
        why = f"{metric} {s.value:.3g} {where} (band {lower:.3g}-{upper:.3g})"
        if kind != "none":
            why += f": {kind}, score {score:.2f}"
        return Score(
            key=s.key, t=s.t, value=s.value, score=score, expected=expected, lower=lower,
            upper=upper, warm=True, kind=kind, detectors=fired, why=why,
            contributions=shares if score >= 0.5 else (),
        )


def reference_contributions(
    batch: dict[int, Sample], ev: Evidence
) -> dict[tuple[tuple[str, str], ...], tuple[tuple[str, float], ...]]:
    groups: dict[tuple[tuple[str, str], ...], list[tuple[str, float]]] = {}
    for row, s in batch.items():
        if bool(ev.warm[row]):
            groups.setdefault(s.key.labels, []).append((s.key.metric, float(ev.raw[row])))
    out = {}
    for labels, items in groups.items():
        total = sum(v for _, v in items)
        if len(items) > 1 and total > 0:
            ranked = sorted(((m, v / total) for m, v in items if v > 0), key=lambda kv: -kv[1])
            out[labels] = tuple(ranked[:3])
    return out


def mixed_cycles(steps: int, seed: int = 0) -> list[list[Sample]]:
    """Workloads with noise, spikes, shifts, gaps, duplicates, late series and odd names."""
    rng = np.random.default_rng(seed)
    metrics = ("cpu_usage", "latency_p99", "request_rate", "odd\0metric")
    keys = [SeriesKey.of(m, workload=f"w{w}") for w in range(3) for m in metrics]
    level = rng.uniform(0.1, 500.0, len(keys))
    cycles: list[list[Sample]] = []
    for i in range(steps):
        v = level * (1.0 + 0.05 * rng.standard_normal(len(keys)))
        if i % 7 == 6:
            v[rng.integers(len(keys), size=3)] *= rng.choice([-3.0, 8.0, 40.0])
        if i >= steps // 2:
            v[:4] *= 3.0  # workload w0 shifts
        batch = [Sample(key=k, t=15.0 * i, value=float(x)) for k, x in zip(keys, v, strict=True)]
        if i % 5 == 0:
            batch[1] = Sample(key=keys[1], t=15.0 * i, value=float("nan"))
            batch.append(Sample(key=keys[2], t=15.0 * i + 1, value=float(v[2]) * 2))  # duplicate
            batch.append(Sample(key=keys[3], t=15.0 * i, value=float("inf")))
        if i >= 20:
            batch.append(Sample(key=SeriesKey.of("late", workload="w1"), t=15.0 * i, value=i % 4))
        if i % 2 == 0:  # the odd name (formatted row by row) only every other cycle
            batch = [s for s in batch if "\0" not in s.key.metric]
        if i % 3 == 0:
            batch.reverse()
        cycles.append(batch)
    return cycles


@pytest.mark.parametrize(
    "cfg", [DetectConfig(warmup=5), preset("classic")], ids=["warmup5", "classic"]
)
def test_update_equals_per_sample_reference(cfg: DetectConfig) -> None:
    """update() returns exactly the Scores (all fields, in order) of the per-sample path."""
    bank, ref = DetectorBank(cfg), ReferenceBank(cfg)
    seen = {"warm": 0, "cold": 0, "kind": 0, "detectors": 0, "contributions": 0}
    for batch in mixed_cycles(80):
        got, want = bank.update(batch), ref.update(batch)
        assert got == want
        assert bank.skipped == ref.skipped
        for s in got:
            seen["warm" if s.warm else "cold"] += 1
            seen["kind"] += s.kind != "none"
            seen["detectors"] += bool(s.detectors)
            seen["contributions"] += bool(s.contributions)
    assert min(seen.values()) > 0, seen  # every branch of the explanation was exercised


@settings(max_examples=40, deadline=None)
@given(
    cycles=st.lists(
        st.lists(
            st.tuples(st.integers(0, 5), st.one_of(
                st.floats(allow_nan=True, allow_infinity=True, width=64),
                st.floats(-2.0, 2.0), st.integers(-10**6, 10**6))),
            max_size=12),
        max_size=25)
)
def test_update_equals_reference_on_any_batches(cycles: list[list[tuple[int, float]]]) -> None:
    """Any batches (repeated keys, wild floats, ints, NaN/inf) score as the reference does."""
    keys = [SeriesKey.of(m, workload=w) for w in ("a", "b") for m in ("x", "y", "z")]
    bank, ref = DetectorBank(DetectConfig(warmup=2)), ReferenceBank(DetectConfig(warmup=2))
    for i, cycle in enumerate(cycles):
        batch = [Sample(key=keys[k], t=15.0 * i, value=v) for k, v in cycle]
        assert bank.update(batch) == ref.update(batch)
        assert bank.skipped == ref.skipped


def test_rows_score_the_same_whichever_block_they_fall_in() -> None:
    """A series' scores do not depend on how many others share the bank: rows past the
    first block (and across its boundary) score exactly as in a bank of their own."""
    from aiops.detect.robust import BLOCK

    rng = np.random.default_rng(5)
    size, steps = BLOCK + 300, 80
    values = 10.0 + rng.standard_normal((steps, size))
    values[60:, -5:] += 25.0  # a shift on the last rows, far past the first block
    values[50, BLOCK - 3 : BLOCK + 3] += 40.0  # a spike straddling the block boundary
    t = 300.0 * np.arange(steps)
    big, small = DetectorBank(DetectConfig()), DetectorBank(DetectConfig())
    tail = slice(BLOCK - 200, size)
    got_big, got_small = [], []
    for i in range(steps):
        got_big.append(big.update_arrays(values[i], np.full(size, t[i]))[tail])
        got_small.append(small.update_arrays(values[i, tail], np.full(size - BLOCK + 200, t[i])))
    assert np.array_equal(np.array(got_big), np.array(got_small))
    assert np.nanmax(np.array(got_big)[60:, -5:]) > 0.9  # the shift did score


def test_a_snapshot_from_before_the_learnt_tail_shape_restores_and_scores_as_it_did() -> None:
    """A bank snapshot written by the release before the Pareto tail (exponential tails,
    no second moments) restores without starting fresh, and scores the next points as
    that release did: the rebuilt state is the exponential tail it had."""
    data = Path(__file__).parent / "data"
    bank = DetectorBank(DetectConfig())
    said = bank.restore_or_fresh((data / "bank_snapshot_v2.npz").read_bytes())
    assert said.startswith("detector state restored"), said
    assert len(bank) == 3
    old = json.loads((data / "bank_snapshot_v2_next.json").read_text())
    got = [bank.evidence(np.array(v), np.full(3, t)).score
           for v, t in zip(old["values"], old["t"], strict=True)]
    np.testing.assert_allclose(np.array(got), np.array(old["scores"]), atol=5e-3)
