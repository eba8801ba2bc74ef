"""The exposition server and sample rendering used by `aiops sandbox-exporter`."""

from __future__ import annotations

import math

import httpx
from prometheus_client.parser import text_string_to_metric_families

from aiops.config.sources import SandboxConfig
from aiops.engines.exporter import ExpositionServer, SandboxExporter, render_samples
from aiops.model import Sample, SeriesKey
from aiops.sim import open_world


def _parse(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text.decode())
        for s in fam.samples
    }


def test_render_skips_gaps_and_unions_label_names() -> None:
    """NaN samples are absent (not stale values); label sets may differ within a metric."""
    text = render_samples([
        Sample(key=SeriesKey.of("cpu", workload="a"), t=0, value=1.5),
        Sample(key=SeriesKey.of("cpu", workload="b", pod="b-0"), t=0, value=2.0),
        Sample(key=SeriesKey.of("cpu", workload="c"), t=0, value=math.nan),
    ], prefix="x_")
    assert _parse(text) == {
        ("x_cpu", (("pod", ""), ("workload", "a"))): 1.5,
        ("x_cpu", (("pod", "b-0"), ("workload", "b"))): 2.0,
    }


def test_server_serves_metrics_404s_elsewhere_and_500s_when_render_fails() -> None:
    """GET /metrics returns the render; other paths 404; a failing render is a 500 scrape."""
    state = {"fail": False}

    def render() -> bytes:
        if state["fail"]:
            raise RuntimeError("world broke")
        return b"up 1\n"

    with ExpositionServer(render) as server:
        assert httpx.get(server.url).text == "up 1\n"
        assert httpx.get(f"http://{server.target}/nope").status_code == 404
        state["fail"] = True
        assert httpx.get(server.url).status_code == 500


def test_sandbox_exporter_advances_the_world_per_scrape() -> None:
    """Each scrape renders all 30 sandbox series at the clock's current simulated time."""
    clock = {"now": 1000.0}
    world = open_world(SandboxConfig(), None, 1000.0)
    exporter = SandboxExporter(world, lambda: clock["now"])
    first = _parse(exporter.render())
    clock["now"] += 3600
    later = _parse(exporter.render())
    assert len(first) == len(later) == 30
    assert {name for name, _ in first} == {
        f"aiops_sandbox_{m}" for m in ("cpu_usage", "memory_usage", "latency_p99",
                                        "request_rate", "error_rate", "ready_replicas")}
    assert first != later and exporter.scrapes == 2
