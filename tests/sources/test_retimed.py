"""A wall-clock Prometheus read on an accelerated clock: queried at wall time, stamped sim."""

from __future__ import annotations

import time

from aiops.config.sources import PrometheusConfig, PrometheusQuery
from aiops.model import Sample, SeriesKey
from aiops.sim.timeframe import TimeFrame
from aiops.sources.prometheus import PrometheusSource
from aiops.sources.retimed import Retimed
from tests.realservers.plugin import PromStack


def test_an_accelerated_daemon_reads_current_prometheus_data(prom_stack: PromStack) -> None:
    """Three simulated days ahead at 60x: a bare query sees nothing, the retimed one the
    current value, stamped with the daemon's (simulated) now."""
    prom_stack.series.set(SeriesKey.of("t_retimed", workload="w"), 42.0)
    prom_stack.wait_value("t_retimed", 42.0)
    config = PrometheusConfig(url=prom_stack.url, timeout=2.0, step=1.0, queries=[
        PrometheusQuery(name="retimed", query="t_retimed", keep_labels=["workload"])])
    wall = time.time()
    frame = TimeFrame(wall=wall, sim=wall + 3 * 86_400, speed=60.0)
    bare = PrometheusSource(config)
    src = Retimed(PrometheusSource(config), frame)
    try:
        now = frame.sim_at(time.time())
        assert [s for s in bare.pull(now) if s.valid] == []  # the future has no data
        (sample,) = src.pull(now)
        assert (sample.key, sample.value, sample.t) == (
            SeriesKey.of("retimed", workload="w"), 42.0, now)
        start = frame.sim_at(wall - 5.0)
        deadline = time.monotonic() + 10
        history: list[Sample] = []
        while not history and time.monotonic() < deadline:  # range steps need a scrape or two
            end = frame.sim_at(time.time())
            history = list(src.backfill(start, end))
            time.sleep(0.5)
        assert history and all(start <= s.t <= end for s in history)
        assert src.name == "prometheus"
    finally:
        bare.close()
        src.close()
