"""The page's bounded history: rings per series, admission when full, forecasts, counts."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from aiops.config.detect import DetectConfig
from aiops.detect.bank import DetectorBank
from aiops.model import ForecastSignal, Score, SeriesKey
from aiops.sources.base import SampleBatch, SeriesTable
from aiops.telemetry.history import SeriesHistory


def score(key: SeriesKey, t: float, s: float = 0.1, *, warm: bool = True) -> Score:
    return Score(key=key, t=t, value=10.0 + t, score=s, expected=10.0, lower=9.0, upper=11.0,
                 warm=warm)


def key(i: int) -> SeriesKey:
    return SeriesKey.of("cpu", workload=f"w{i}")


def test_each_series_keeps_only_its_latest_points_in_order() -> None:
    """A ring of `points` keeps the newest points, oldest first, with every field intact."""
    h = SeriesHistory(points=4, max_series=2)
    for t in range(10):
        h.record([score(key(0), float(t))])
    pts = h.window(key(0))
    assert [p.t for p in pts] == [6.0, 7.0, 8.0, 9.0]
    assert (pts[-1].value, pts[-1].expected, pts[-1].lower, pts[-1].upper) == (19.0, 10, 9, 11)
    assert [p.t for p in h.window(key(0), 7.0, 8.0)] == [7.0, 8.0]


def test_a_score_already_recorded_is_not_recorded_twice() -> None:
    """Passing the same (or an older) score again adds nothing: the caller may repeat."""
    h = SeriesHistory(points=10)
    assert h.record([score(key(0), 5.0)]) == 1
    assert h.record([score(key(0), 5.0), score(key(0), 4.0)]) == 0
    assert [p.t for p in h.window(key(0))] == [5.0]


def test_when_full_only_an_anomalous_series_gets_in_replacing_the_quietest() -> None:
    """At max_series a quiet newcomer is refused; an anomalous one evicts the longest quiet."""
    h = SeriesHistory(points=5, max_series=3, admit_score=0.9)
    h.record([score(key(0), 1.0), score(key(1), 1.0), score(key(2), 1.0)])
    h.record([score(key(0), 2.0, 0.95), score(key(1), 2.0), score(key(2), 2.0)])
    h.record([score(key(0), 3.0), score(key(1), 3.0, 0.99), score(key(2), 3.0)])
    h.record([score(key(3), 3.0, 0.1)])
    assert h.series_keys() == [key(0), key(1), key(2)] and h.refused == 1
    h.record([score(key(4), 4.0, 0.97)])
    assert h.series_keys() == [key(0), key(1), key(4)]  # key(2) was quiet since t=1
    assert [p.t for p in h.window(key(4))] == [4.0] and h.window(key(2)) == []


def test_a_warming_series_is_never_admitted_as_anomalous() -> None:
    """A high score during warm-up does not count as anomalous, neither for admission nor counts."""
    h = SeriesHistory(points=5, max_series=1, admit_score=0.9)
    h.record([score(key(0), 1.0)])
    h.record([score(key(1), 2.0, 1.0, warm=False)])
    assert h.series_keys() == [key(0)]
    assert (h.last.scored, h.last.warm, h.last.anomalous) == (1, 0, 0)


def test_counts_describe_the_last_cycle() -> None:
    """`last` counts the new scores of the last record: scored, warm, anomalous, newest t."""
    h = SeriesHistory(admit_score=0.9)
    h.record([score(key(0), 15.0, 0.95), score(key(1), 15.0), score(key(2), 15.0, warm=False)])
    assert (h.last.t, h.last.scored, h.last.warm, h.last.anomalous) == (15.0, 3, 2, 1)


def test_memory_is_fixed_by_the_bounds_not_by_the_input() -> None:
    """Ten times more series and points than the bounds hold take no more memory."""
    h = SeriesHistory(points=50, max_series=20)
    for t in range(60):
        h.record([score(key(i), float(t)) for i in range(20)])
    full = h.nbytes
    for t in range(60, 600):
        h.record([score(key(i), float(t), 0.99 if t % 7 == 0 else 0.1) for i in range(200)])
    assert h.nbytes == full == 20 * 50 * 7 * 8
    assert len(h.series_keys()) == 20 and all(len(h.window(k)) <= 50 for k in h.series_keys())


def test_forecasts_are_kept_per_workload_within_bounds() -> None:
    """Forecast rings hold the newest points; a workload past max_workloads is not kept."""
    h = SeriesHistory(points=3, max_workloads=1)
    k = SeriesKey.of("request_rate", workload="catalog")
    for t in range(5):
        h.record_forecasts([ForecastSignal(key=k, t=60.0 * t, horizon=150.0, predicted=100.0 + t,
                                           lower=90.0, upper=110.0 + t, capacity=240.0,
                                           desired_replicas=4 + t, current_replicas=4)])
    h.record_forecasts([ForecastSignal(key=SeriesKey.of("request_rate", workload="x"), t=0.0,
                                       horizon=1.0, predicted=1.0, lower=1.0, upper=1.0,
                                       capacity=1.0, desired_replicas=1, current_replicas=1)])
    assert h.forecast_keys() == [k]
    fc = h.forecasts(k)
    assert [(f.t, f.predicted, f.desired_replicas) for f in fc] == [
        (120.0, 102.0, 6), (180.0, 103.0, 7), (240.0, 104.0, 8)]


def test_readers_and_a_writer_in_threads_see_consistent_windows() -> None:
    """While one thread records, readers always get time-ordered, bounded windows."""
    h = SeriesHistory(points=64, max_series=8)
    stop = threading.Event()
    bad: list[str] = []

    def read() -> None:
        while not stop.is_set():
            for k in h.series_keys():
                ts = [p.t for p in h.window(k)]
                if ts != sorted(ts) or len(ts) > 64:
                    bad.append(str(ts[:5]))

    readers = [threading.Thread(target=read) for _ in range(2)]
    for r in readers:
        r.start()
    for t in range(2000):
        h.record([score(key(i), float(t)) for i in range(8)])
    stop.set()
    for r in readers:
        r.join()
    assert bad == []


def test_bounds_must_be_positive() -> None:
    """A zero bound is a programming error, refused at construction."""
    with pytest.raises(ValueError, match="positive"):
        SeriesHistory(points=0)


def test_a_column_batch_records_the_points_its_scores_would() -> None:
    """record_batch keeps exactly what record keeps for the batch's Scores (warm or not)."""
    bank = DetectorBank(DetectConfig(warmup=5))
    table = SeriesTable()
    keys = [SeriesKey.of(m, workload="w") for m in ("cpu", "mem", "lat")]
    index = table.rows(keys)
    by_cols, by_scores = SeriesHistory(points=50), SeriesHistory(points=50)
    rng = np.random.default_rng(0)
    for i in range(12):
        value = 1.0 + 0.1 * rng.standard_normal(3)
        value[1] = np.nan if i == 7 else value[1]
        sb = bank.update_batch(SampleBatch(table=table, index=index, t=np.full(3, 15.0 * i),
                                           value=value))
        assert by_cols.record_batch(sb) == by_scores.record(
            bank.explain(sb, np.flatnonzero(sb.valid)))
    for key in keys:
        assert by_cols.window(key) == by_scores.window(key)
        assert len(by_cols.window(key)) >= 11
    assert any(not p.warm for p in by_cols.window(keys[0]))


def test_a_full_history_records_a_batch_as_its_scores_would() -> None:
    """Full, record_batch admits, evicts, refuses and counts exactly as record does."""
    bank = DetectorBank(DetectConfig(warmup=5))
    table = SeriesTable()
    keys = [SeriesKey.of("cpu", workload=f"w{i}") for i in range(12)]
    index = table.rows(keys)
    by_cols = SeriesHistory(points=50, max_series=3, admit_score=0.3)
    by_scores = SeriesHistory(points=50, max_series=3, admit_score=0.3)
    rng = np.random.default_rng(1)
    for i in range(40):
        value = 1.0 + 0.05 * rng.standard_normal(len(keys))
        value[rng.random(len(keys)) < 0.1] *= 3.0  # some spikes: admitted in turn
        order = rng.permutation(len(keys))
        sb = bank.update_batch(SampleBatch(table=table, index=index[order],
                                           t=np.full(len(keys), 15.0 * i), value=value[order]))
        assert by_cols.record_batch(sb) == by_scores.record(
            bank.explain(sb, np.flatnonzero(sb.valid)))
        assert (by_cols.last, by_cols.refused) == (by_scores.last, by_scores.refused)
    assert by_cols.series_keys() == by_scores.series_keys()
    assert by_cols.refused > 0 and by_cols.last.anomalous >= 0
    for key in keys:
        assert by_cols.window(key) == by_scores.window(key)
