"""The remote-write source: order, staleness, backpressure, shards, and answers once scored."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np
import pytest

from aiops.config.shard import ShardConfig, hashmod
from aiops.config.sources import RemoteWriteConfig
from aiops.errors import SourceUnavailable
from aiops.sources.remote_write import Busy, RemoteWriteSource
from aiops.sources.remote_write_proto import decompress, encode_request
from aiops.sources.replay import ReplaySource

NOW = 1_765_000_000.0
STALE = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]


def request(*series: tuple[str, str, list[tuple[float, float]]],
            metric: str = "latency_p99") -> bytes:
    """A decompressed request: (namespace, workload, [(value, t seconds)]) per series."""
    body = encode_request([
        ({"__name__": f"aiops_sandbox_{metric}", "namespace": ns, "workload": wl,
          "instance": "x:1"}, [(v, round(t * 1000)) for v, t in samples])
        for ns, wl, samples in series])
    return decompress(body, limit=1 << 24)


def source(**overrides: object) -> RemoteWriteSource:
    cfg = RemoteWriteConfig(preset="sandbox", stale_after=60, **overrides)  # type: ignore[arg-type]
    return RemoteWriteSource(cfg)


def scored(src: RemoteWriteSource, now: float) -> list[tuple[str, float, float]]:
    """Pull like the scrape cycle, settle as scored, return (workload, t, value)."""
    out = [(s.key.label("workload"), s.t, s.value) for s in src.pull(now)]
    src.settle(True)
    return out


def test_samples_arrive_in_order_with_kept_labels_only() -> None:
    """A series' samples come out oldest first, keyed by metric and the kept labels."""
    src = source()
    src.receive(request(("shop", "web", [(0.2, NOW - 2), (0.3, NOW - 1)])), NOW)
    [first, second] = src.pull(NOW)
    assert str(first.key) == 'latency_p99{namespace="shop",workload="web"}'
    assert (first.t, first.value, second.t, second.value) == (NOW - 2, 0.2, NOW - 1, 0.3)


def test_out_of_order_and_retried_samples_are_dropped_and_counted() -> None:
    """Older than the last scored sample: out of order; equal (a retry): duplicate."""
    src = source()
    src.receive(request(("shop", "web", [(1.0, NOW - 5)])), NOW)
    assert scored(src, NOW) == [("web", NOW - 5, 1.0)]
    src.receive(request(("shop", "web", [(1.0, NOW - 5), (2.0, NOW - 9), (3.0, NOW - 4)])), NOW)
    assert scored(src, NOW) == [("web", NOW - 4, 3.0)]
    assert src.counts["duplicate"] == 1 and src.counts["out_of_order"] == 1


def test_a_batch_that_failed_to_score_is_not_remembered_as_scored() -> None:
    """settle(False) leaves the series' last time alone, so Prometheus' resend is scored."""
    src = source()
    ticket = src.receive(request(("shop", "web", [(1.0, NOW - 5)])), NOW)
    src.pull(NOW)
    src.settle(False)
    assert ticket.result is False
    src.receive(request(("shop", "web", [(1.0, NOW - 5)])), NOW)
    assert scored(src, NOW) == [("web", NOW - 5, 1.0)]


def test_the_request_is_answered_only_once_its_samples_are_scored() -> None:
    """The ticket stays open through the pull and settles True on settle(True)."""
    src = source()
    ticket = src.receive(request(("shop", "web", [(1.0, NOW)])), NOW)
    seen: list[bool] = []
    ticket.on_settled(seen.append)
    src.pull(NOW)
    assert ticket.result is None and seen == []
    src.settle(True)
    assert ticket.result is True and seen == [True]


def test_stale_markers_and_silent_series_become_gaps() -> None:
    """Prometheus' stale NaN is a gap; a series silent for stale_after gets one NaN sample."""
    src = source()
    src.receive(request(("shop", "web", [(1.0, NOW - 2), (STALE, NOW - 1)]),
                      ("shop", "api", [(1.0, NOW - 2)])), NOW)
    out = scored(src, NOW)
    assert out[0] == ("web", NOW - 2, 1.0) and out[1][0] == "web" and math.isnan(out[1][2])
    assert src.counts["stale"] == 1
    src.receive(request(("shop", "web", [(1.0, NOW + 59)])), NOW + 59)
    scored(src, NOW + 59)
    later = scored(src, NOW + 61)
    assert len(later) == 1 and later[0][0] == "api" and math.isnan(later[0][2])
    assert scored(src, NOW + 62) == []  # one gap, not one per cycle


def test_late_and_future_samples_are_counted() -> None:
    """Older than stale_after: scored but counted late; beyond stale_after ahead: refused."""
    src = source()
    src.receive(request(("shop", "web", [(1.0, NOW - 120), (2.0, NOW)]),
                      ("shop", "api", [(1.0, NOW + 600)])), NOW)
    out = scored(src, NOW)
    assert [o[1] for o in out] == [NOW - 120, NOW]
    assert src.counts["late"] == 1 and src.counts["future"] == 1


def test_a_full_queue_refuses_the_whole_request() -> None:
    """Past max_pending_samples the request is refused whole (503), nothing half queued."""
    src = source(max_pending_samples=1000)
    big = request(*[("shop", f"w{i}", [(1.0, NOW)]) for i in range(600)])
    src.receive(big, NOW)
    with pytest.raises(Busy):
        src.receive(request(*[("shop", f"v{i}", [(1.0, NOW)]) for i in range(600)]), NOW)
    assert src.pending() == 600
    assert len(scored(src, NOW)) == 600


def test_unmapped_metrics_and_other_shards_are_not_scored() -> None:
    """A metric no config names is ignored; another shard's workload is foreign."""
    workloads = [f"w{i}" for i in range(40)]
    mine = [w for w in workloads if hashmod(["shop", w], 3) == 1]
    src = RemoteWriteSource(RemoteWriteConfig(preset="sandbox"),
                            shard=ShardConfig(count=3, ordinal=1))
    ticket = src.receive(request(*[("shop", w, [(1.0, NOW)]) for w in workloads]), NOW)
    src.receive(request(("shop", "web", [(1.0, NOW)]), metric="disk_usage"), NOW)
    assert ticket.samples == len(mine)
    assert sorted(w for w, _, _ in scored(src, NOW)) == sorted(mine)
    assert src.counts["foreign"] == len(workloads) - len(mine)
    assert src.counts["ignored"] == 1


def test_no_request_for_stale_after_marks_the_source_down() -> None:
    """Before the first request, and once Prometheus has been silent for stale_after."""
    src = source()
    with pytest.raises(SourceUnavailable, match="yet"):
        src.pull(NOW)
    src.receive(request(("shop", "web", [(1.0, NOW)])), NOW)
    scored(src, NOW)
    assert scored(src, NOW + 30) == []
    with pytest.raises(SourceUnavailable, match="for 61 s"):
        src.pull(NOW + 61)


def test_series_past_the_limit_are_counted_not_scored() -> None:
    """max_series bounds the table; samples of further new series are series_limit."""
    src = source(max_series=2)
    src.receive(request(*[("shop", f"w{i}", [(1.0, NOW)]) for i in range(3)]), NOW)
    assert len(scored(src, NOW)) == 2 and src.counts["series_limit"] == 1


def test_backfill_marks_where_history_ends(tmp_path: Path) -> None:
    """Samples Prometheus pushes again after the backfill window are not learned twice."""
    csv = tmp_path / "h.csv"
    csv.write_text("timestamp,metric,namespace,workload,value\n"
                   f"{NOW - 30},latency_p99,shop,web,0.2\n{NOW - 15},latency_p99,shop,web,0.2\n")
    src = RemoteWriteSource(RemoteWriteConfig(preset="sandbox"), history=ReplaySource(csv))
    assert len(src.backfill(NOW - 60, NOW)) == 2
    src.receive(request(("shop", "web", [(0.2, NOW - 15), (0.3, NOW - 1)])), NOW)
    assert scored(src, NOW) == [("web", NOW - 1, 0.3)]


def test_drain_answers_waiting_requests_with_a_refusal() -> None:
    """On a graceful stop waiting samples are refused (Prometheus resends), later ones too."""
    src = source()
    ticket = src.receive(request(("shop", "web", [(1.0, NOW)])), NOW)
    src.drain(stopping=True)
    assert ticket.result is False
    with pytest.raises(Busy, match="stopping"):
        src.receive(request(("shop", "web", [(1.0, NOW + 1)])), NOW)


def test_batches_carry_interned_rows_for_the_columnar_bank() -> None:
    """pull_batch gives table rows, times and values as arrays (one key object per series)."""
    src = source()
    src.receive(request(("shop", "web", [(1.0, NOW)]), ("shop", "api", [(2.0, NOW)])), NOW)
    batch = src.pull_batch(NOW)
    src.settle(True)
    src.receive(request(("shop", "api", [(3.0, NOW + 1)])), NOW + 1)
    again = src.pull_batch(NOW + 1)
    assert batch.index.tolist() == [0, 1] and again.index.tolist() == [1]
    assert batch.table is again.table and len(batch.table) == 2
    assert np.array_equal(again.value, [3.0])


def test_a_step_waits_for_a_whole_round_of_the_series_or_the_flush_interval() -> None:
    """By default scoring is due once as many samples wait as series are known (at least
    2000), or once the oldest waited flush_interval."""
    src = source(flush_interval=0.2)
    names = [f"w{i:04d}" for i in range(3000)]
    src.receive(request(*[("shop", n, [(1.0, NOW - 1)]) for n in names]), NOW)
    scored(src, NOW)  # 3000 series known now
    src.receive(request(*[("shop", n, [(1.0, NOW)]) for n in names[:2500]]), NOW + 1)
    assert not src.due(NOW + 1.1)  # 2500 of 3000: not a whole round yet
    assert src.due(NOW + 1.2)  # the oldest waited flush_interval
    src.receive(request(*[("shop", n, [(1.0, NOW)]) for n in names[2500:]]), NOW + 1.05)
    assert src.due(NOW + 1.1)


def test_a_round_does_not_wait_for_series_that_stopped_arriving() -> None:
    """Series given a gap (silent for stale_after) leave the round: with 500 of 3000
    departed, 2500 waiting samples are a whole round."""
    src = source(flush_interval=0.2)
    names = [f"w{i:04d}" for i in range(3000)]
    src.receive(request(*[("shop", n, [(1.0, NOW)]) for n in names]), NOW)
    scored(src, NOW)
    later = NOW + 61  # past stale_after (60 s) for the 500 that stop
    src.receive(request(*[("shop", n, [(1.0, later)]) for n in names[:2500]]), later)
    gaps = [w for w, _, v in scored(src, later) if math.isnan(v)]
    assert len(gaps) == 500
    src.receive(request(*[("shop", n, [(2.0, later + 1)]) for n in names[:2499]]), later + 1)
    assert not src.due(later + 1.1)  # 2499 of the 2500 still arriving
    src.receive(request(("shop", names[2499], [(2.0, later + 1)])), later + 1.05)
    assert src.due(later + 1.1)
