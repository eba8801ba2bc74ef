"""The column batch hand-off: interned keys, arrays, and the per-sample view kept."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pytest

from aiops.config.detect import DetectConfig
from aiops.detect.bank import DetectorBank
from aiops.model import Sample, SeriesKey
from aiops.sources.base import BatchReader, SampleBatch, SeriesTable

KEYS = [SeriesKey.of(m, workload=w) for w in ("a", "b") for m in ("cpu", "latency")]


class Listed:
    """A source with only the per-sample ``pull``."""

    name = "listed"

    def pull(self, now: float) -> Sequence[Sample]:
        return [Sample(key=k, t=now, value=float(i)) for i, k in enumerate(KEYS)]

    def backfill(self, start: float, end: float) -> Sequence[Sample]:
        return []

    def close(self) -> None:
        return None


def test_keys_are_interned_once_and_rows_only_appended() -> None:
    """A key keeps its row for ever; new keys get the next rows in order of appearance."""
    table = SeriesTable()
    first = table.rows(KEYS[:2])
    again = table.rows([SeriesKey.of("latency", workload="a"), KEYS[3], KEYS[0]])
    assert first.tolist() == [0, 1] and again.tolist() == [1, 2, 0]
    assert table.keys == [KEYS[0], KEYS[1], KEYS[3]] and table.find(KEYS[2]) is None


def test_a_full_table_refuses_new_keys_clearly() -> None:
    """Past its limit a table raises instead of growing without bound."""
    table = SeriesTable(limit=2)
    table.rows(KEYS[:2])
    with pytest.raises(OverflowError, match="series table full"):
        table.row(KEYS[2])


def test_batch_round_trips_to_the_same_samples() -> None:
    """SampleBatch.of then samples() gives back the samples (NaN gaps included)."""
    samples = [Sample(key=k, t=15.0, value=float(i)) for i, k in enumerate(KEYS)]
    samples[1] = Sample(key=KEYS[1], t=15.0, value=math.nan)
    back = SampleBatch.of(samples, SeriesTable()).samples()
    assert [s.key for s in back] == KEYS and back[0] == samples[0]
    assert math.isnan(back[1].value)


def test_batch_needs_one_time_and_value_per_row() -> None:
    """Columns of different lengths are refused."""
    with pytest.raises(ValueError, match="one time and one value"):
        SampleBatch(table=SeriesTable(), index=np.arange(2), t=np.zeros(2), value=np.zeros(3))


def test_reader_batches_a_per_sample_source_with_a_stable_table() -> None:
    """A source without pull_batch is interned by the reader; rows stay put across pulls."""
    reader = BatchReader(Listed())
    a, b = reader.read(15.0), reader.read(30.0)
    assert a.table is b.table and a.index.tolist() == b.index.tolist() == [0, 1, 2, 3]
    assert b.t.tolist() == [30.0] * 4 and b.key(2) == KEYS[2]


def test_bank_scores_a_batch_exactly_as_it_scores_the_samples() -> None:
    """update_batch + explain gives the Scores update(samples) gives, field for field."""
    rng = np.random.default_rng(5)
    a, b = DetectorBank(DetectConfig(warmup=5)), DetectorBank(DetectConfig(warmup=5))
    table = SeriesTable()
    for i in range(120):
        values = 1.0 + 0.05 * rng.standard_normal(len(KEYS))
        if i == 100:
            values[1] *= 4
        samples = [Sample(key=k, t=15.0 * i, value=float(v)) for k, v in zip(KEYS, values,
                                                                             strict=True)]
        expected = a.update(samples)
        sb = b.update_batch(SampleBatch.of(samples, table))
        assert b.explain(sb, np.arange(len(sb))) == expected


def test_two_samples_of_one_series_in_a_batch_are_scored_in_turn() -> None:
    """A repeated key is scored twice, in batch order, like update(samples)."""
    table = SeriesTable()
    samples = [Sample(key=KEYS[0], t=0.0, value=1.0), Sample(key=KEYS[0], t=15.0, value=2.0),
               Sample(key=KEYS[1], t=0.0, value=3.0)]
    a, b = DetectorBank(DetectConfig(warmup=1)), DetectorBank(DetectConfig(warmup=1))
    expected = a.update(samples)
    sb = b.update_batch(SampleBatch.of(samples, table))
    got = b.explain(sb, np.arange(3))
    assert [s.value for s in got] == [1.0, 2.0, 3.0]
    assert sorted(got, key=lambda s: (s.key.metric, s.t)) == sorted(
        expected, key=lambda s: (s.key.metric, s.t))


def test_invalid_values_in_a_batch_are_counted_and_score_nothing() -> None:
    """NaN and inf in a batch are skipped and counted; their rows are not valid."""
    table = SeriesTable()
    bank = DetectorBank(DetectConfig(warmup=1))
    sb = bank.update_batch(SampleBatch(table=table, index=table.rows(KEYS[:3]),
                                       t=np.zeros(3), value=np.array([1.0, np.nan, np.inf])))
    assert bank.skipped == 2 and sb.valid.tolist() == [True, False, False]
    assert sb.phase.tolist() == [0, 0, 0]
