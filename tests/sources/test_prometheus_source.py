"""PrometheusSource against a real Prometheus (and a scripted loopback server for faults)."""

from __future__ import annotations

import math
import time

import pytest

from aiops.bench.realservers import free_port
from aiops.config.sources import PrometheusConfig, PrometheusQuery
from aiops.errors import SourceUnavailable
from aiops.model import SeriesKey
from aiops.sources.base import Source
from aiops.sources.prometheus import PrometheusSource
from tests.realservers.plugin import PromStack
from tests.realservers.stub import StubServer


def _source(url: str, *queries: PrometheusQuery, **kw: object) -> PrometheusSource:
    return PrometheusSource(PrometheusConfig(url=url, queries=list(queries), **kw))  # type: ignore[arg-type]


def test_pull_returns_every_series_of_a_query_with_kept_labels(prom_stack: PromStack) -> None:
    """One instant query yields one sample per series, keyed by name + kept labels only."""
    prom_stack.series.set_many(
        (SeriesKey.of("t_pull_cpu", namespace="shop", workload=f"w{i}", pod=f"w{i}-0"), i + 0.5)
        for i in range(5)
    )
    prom_stack.wait_value('t_pull_cpu{workload="w4"}', 4.5)
    src = _source(prom_stack.url, PrometheusQuery(
        name="cpu_usage", query="t_pull_cpu", keep_labels=["namespace", "workload"]))
    assert isinstance(src, Source)
    now = time.time()
    samples = src.pull(now)
    got = {s.key: s.value for s in samples}
    assert got == {
        SeriesKey.of("cpu_usage", namespace="shop", workload=f"w{i}"): i + 0.5 for i in range(5)
    }
    assert all(s.t == now for s in samples)
    src.close()


def test_vanished_series_yields_nan_then_is_forgotten(prom_stack: PromStack) -> None:
    """A series that disappears gives NaN (never its old value) until stale_after, then nothing."""
    key = SeriesKey.of("t_gone", namespace="a", workload="gone")
    prom_stack.series.set(key, 7.0)
    prom_stack.wait_value("t_gone", 7.0)
    src = _source(prom_stack.url, PrometheusQuery(
        name="m", query="t_gone", keep_labels=["workload"]), stale_after=3.0)
    first = src.pull(time.time())
    assert [s.value for s in first] == [7.0]
    prom_stack.series.remove(key)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # Prometheus writes a stale marker on the next scrape
        samples = src.pull(time.time())
        if samples and math.isnan(samples[0].value):
            break
        time.sleep(0.2)
    assert len(samples) == 1 and math.isnan(samples[0].value)
    assert samples[0].key == SeriesKey.of("m", workload="gone")
    while time.monotonic() < deadline + 10 and samples:  # forgotten after stale_after
        assert all(math.isnan(s.value) for s in samples), samples
        time.sleep(0.2)
        samples = src.pull(time.time())
    assert samples == []


def test_default_kubernetes_queries_run_and_derive_workload(prom_stack: PromStack) -> None:
    """The built-in cAdvisor/HTTP queries are valid PromQL and key pods by derived workload."""
    pod = {"namespace": "shop", "pod": "web-5d9c7b6f4-x2x7q", "container": "app"}
    sts = {"namespace": "shop", "pod": "db-0", "container": "pg"}
    prom_stack.series.set_many([
        (SeriesKey.of("container_memory_working_set_bytes", **pod), 1e8),
        (SeriesKey.of("container_memory_working_set_bytes", **sts), 2e8),
        (SeriesKey.of("container_cpu_usage_seconds_total", **pod), 10.0),
        (SeriesKey.of("http_requests_total", namespace="shop", pod="web-5d9c7b6f4-x2x7q"), 3.0),
    ])
    prom_stack.wait_value("container_memory_working_set_bytes", 2e8)
    # rate() needs two scrapes of each counter
    prom_stack.wait_query("count_over_time(http_requests_total[1m])", lambda n: n >= 2)
    prom_stack.wait_query("count_over_time(container_cpu_usage_seconds_total[1m])",
                          lambda n: n >= 2)
    src = PrometheusSource(PrometheusConfig(url=prom_stack.url))
    got = {(s.key.metric, s.key.label("workload")): s.value for s in src.pull(time.time())}
    assert got[("memory_usage", "web")] == 1e8
    assert got[("memory_usage", "db")] == 2e8
    assert got[("cpu_usage", "web")] == 0.0
    assert got[("request_rate", "web")] == 0.0


def test_backfill_loads_history_oldest_first(prom_stack: PromStack) -> None:
    """backfill() uses query_range and returns past points in time order within the window."""
    key = SeriesKey.of("t_hist", workload="h")
    prom_stack.series.set(key, 1.0)
    prom_stack.wait_query("count_over_time(t_hist[1m])", lambda n: n >= 2)  # two scrapes of 1
    prom_stack.series.set(key, 2.0)
    prom_stack.wait_value("t_hist", 2.0)
    src = _source(prom_stack.url, PrometheusQuery(name="h", query="t_hist"), step=1.0)
    deadline = time.monotonic() + 15
    while True:  # query_range works on whole seconds: poll until the new value is in range
        end = time.time()
        hist = src.backfill(end - 30, end)
        if (hist and hist[-1].value == 2.0) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    ts = [s.t for s in hist]
    assert ts == sorted(ts) and all(end - 30 <= t < end for t in ts)
    values = [s.value for s in hist]
    assert values[0] == 1.0 and values[-1] == 2.0 and values.count(1.0) >= 2


def test_bad_promql_is_source_unavailable_without_retry(prom_stack: PromStack) -> None:
    """A 400 from Prometheus (bad query) maps to SourceUnavailable and is not retried."""
    pauses: list[float] = []
    src = PrometheusSource(
        PrometheusConfig(url=prom_stack.url, retries=3,
                         queries=[PrometheusQuery(name="x", query="sum(")]),
        sleep=pauses.append,
    )
    with pytest.raises(SourceUnavailable, match="400"):
        src.pull(time.time())
    assert pauses == []


def test_dead_server_fails_fast_after_our_retries() -> None:
    """Connection refused: our retries only (no library back-off), then SourceUnavailable."""
    pauses: list[float] = []
    src = PrometheusSource(
        PrometheusConfig(url=f"http://127.0.0.1:{free_port()}", retries=2, retry_backoff=0.05),
        sleep=pauses.append,
    )
    with pytest.raises(SourceUnavailable, match="cannot connect") as err:
        src.pull(time.time())
    assert pauses == [0.05, 0.1]  # our back-off only: urllib3's retries are off
    assert err.value.retry_after >= 1.0


def test_slow_server_is_bounded_by_our_timeout() -> None:
    """A server slower than the timeout: each try is abandoned at the timeout, retried once
    after our back-off, then reported (never waited out)."""
    pauses: list[float] = []
    with StubServer(delay=10.0) as slow:
        src = PrometheusSource(PrometheusConfig(url=slow.url, timeout=0.3, retries=1,
                                                retry_backoff=0.1), sleep=pauses.append)
        with pytest.raises(SourceUnavailable, match="timed out"):
            src.pull(time.time())
        assert len(slow.requests) == 2
        assert slow.answered == 0  # both abandoned before the server answered
    assert pauses == [0.1]


def test_server_errors_are_retried_then_reported() -> None:
    """A 503 is retried `retries` times and then raised as SourceUnavailable naming the status."""
    with StubServer(status=503, body={"status": "error"}) as bad:
        src = _source(bad.url, retries=2, retry_backoff=0.01)
        with pytest.raises(SourceUnavailable, match="503"):
            src.pull(time.time())
    assert len(bad.requests) == 3


@pytest.mark.parametrize("body", [
    b"<html>proxy</html>",
    {"status": "success"},
    {"status": "success", "data": {"result": [{"metric": {}, "value": [1, "abc"]}]}},
    {"status": "success", "data": {"result": [{"metric": {}, "value": None}]}},
])
def test_answers_that_are_not_prometheus_are_source_unavailable(body: object) -> None:
    """A proxy page, JSON without data or a malformed value is reported, never crashes a cycle."""
    with StubServer(body=body) as proxy:
        with pytest.raises(SourceUnavailable):
            _source(proxy.url, retries=0).pull(time.time())


def test_bearer_token_and_basic_auth_are_sent(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Token and password files become Authorization headers on every query."""
    (tmp_path / "token").write_text("s3cret\n")
    (tmp_path / "pw").write_text("hunter2\n")
    answer = {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"workload": "w"}, "value": [time.time(), "1.5"]}]}}
    with StubServer(body=answer) as srv:
        query = PrometheusQuery(name="q", query="up")
        src = PrometheusSource(
            PrometheusConfig(url=srv.url, bearer_token_file="token", queries=[query]),
            base_dir=tmp_path,
        )
        assert [s.value for s in src.pull(time.time())] == [1.5]
        src2 = PrometheusSource(PrometheusConfig(
            url=srv.url, basic_auth_user="aiops", basic_auth_password_file=str(tmp_path / "pw"),
            queries=[PrometheusQuery(name="q", query="up")]))
        src2.pull(time.time())
    assert srv.requests[0].headers["Authorization"] == "Bearer s3cret"
    assert srv.requests[1].headers["Authorization"] == "Basic YWlvcHM6aHVudGVyMg=="
