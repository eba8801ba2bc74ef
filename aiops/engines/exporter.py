"""Serve metrics in the Prometheus text format for a real Prometheus to scrape.

:class:`ExpositionServer` is a small threaded HTTP server answering ``GET /metrics``
with whatever a render callback returns; :func:`render_samples` turns
:class:`~aiops.model.Sample` values into exposition text (one gauge family per metric,
named ``<prefix><metric>``), so the sandbox world, a benchmark's synthetic series or a
test's hand-set values can all be scraped the same way.

>>> from aiops.model import Sample, SeriesKey
>>> text = render_samples([Sample(key=SeriesKey.of("cpu_usage", workload="web"), t=0.0, value=0.5)])
>>> 'aiops_sandbox_cpu_usage{workload="web"} 0.5' in text.decode()
True
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from aiops.model import Sample

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
SANDBOX_PREFIX = "aiops_sandbox_"


class _SamplesCollector(Collector):
    """A prometheus-client collector over a fixed list of samples."""

    def __init__(self, samples: Sequence[Sample], prefix: str) -> None:
        self._samples = samples
        self._prefix = prefix

    def collect(self) -> Iterator[Metric]:
        valid = [s for s in self._samples if math.isfinite(s.value)]  # a gap is an absent series
        names: dict[str, list[str]] = {}
        for s in valid:
            known = names.setdefault(s.key.metric, [])
            known.extend(k for k, _ in s.key.labels if k not in known)
        families = {
            metric: GaugeMetricFamily(f"{self._prefix}{metric}", f"Sandbox {metric}.", labels=ls)
            for metric, ls in names.items()
        }
        for s in valid:
            labels = [s.key.label(n) for n in names[s.key.metric]]
            families[s.key.metric].add_metric(labels, s.value)
        yield from families.values()


def render_samples(samples: Sequence[Sample], *, prefix: str = SANDBOX_PREFIX) -> bytes:
    """Prometheus text exposition of ``samples``: gauges ``<prefix><metric>{labels}``."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_SamplesCollector(samples, prefix))
    return generate_latest(registry)


class ExpositionServer:
    """Serve ``render()`` at ``/metrics`` on ``host:port`` from a background thread.

    ``port=0`` picks a free port; read it back from :attr:`port`. ``render`` runs on
    every scrape; if it raises, the scrape gets a 500 (Prometheus marks ``up`` 0).
    """

    def __init__(self, render: Callable[[], bytes], *, host: str = "127.0.0.1", port: int = 0):
        self._render = render
        #: Scrapes the scraper abandoned before the body was sent (it timed out).
        self.aborted = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?", 1)[0] not in ("/metrics", "/"):
                    self.send_error(404)
                    return
                try:
                    body = outer._render()
                except Exception as exc:  # a broken world must show as a failed scrape
                    self.send_error(500, explain=str(exc))
                    return
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", CONTENT_TYPE)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    outer.aborted += 1  # the scraper gave up (its scrape_timeout): no traceback

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._httpd = ThreadingHTTPServer((host, port), Handler)
        self._httpd.daemon_threads = True
        self.host = host
        self.port: int = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name=f"exporter:{self.port}", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    @property
    def target(self) -> str:
        """``host:port`` as written in a Prometheus ``static_configs`` target."""
        return f"{self.host}:{self.port}"

    def start(self) -> ExpositionServer:
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until :meth:`close` (the CLI's mode)."""
        self._httpd.serve_forever()

    def close(self) -> None:
        if self._thread.is_alive():
            self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> ExpositionServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


class StaticSeries:
    """A mutable set of samples to expose; thread-safe, for tests and benchmarks.

    >>> s = StaticSeries(prefix="t_")
    >>> from aiops.model import SeriesKey
    >>> s.set(SeriesKey.of("x", pod="a"), 1.0)
    >>> b't_x{pod="a"} 1.0' in s.render()
    True
    """

    def __init__(self, *, prefix: str = "") -> None:
        self._values: dict[Any, Sample] = {}
        self._lock = threading.Lock()
        self.prefix = prefix

    def set(self, key: Any, value: float) -> None:
        with self._lock:
            self._values[key] = Sample(key=key, t=0.0, value=value)

    def set_many(self, items: Iterable[tuple[Any, float]]) -> None:
        with self._lock:
            for key, value in items:
                self._values[key] = Sample(key=key, t=0.0, value=value)

    def remove(self, key: Any) -> None:
        with self._lock:
            self._values.pop(key, None)

    def render(self) -> bytes:
        with self._lock:
            samples = list(self._values.values())
        return render_samples(samples, prefix=self.prefix)


class SandboxExporter:
    """The sandbox world's series as scrapeable gauges, advanced to ``clock()`` per scrape.

    ``clock`` gives simulated time (an accelerated clock makes the scheduled faults
    arrive in minutes); every scrape advances the world and renders all its series as
    ``aiops_sandbox_<metric>{namespace, workload}``.
    """

    def __init__(self, world: SampleWorld, clock: Callable[[], float]) -> None:
        self.world = world
        self.clock = clock
        self.scrapes = 0

    def render(self) -> bytes:
        self.scrapes += 1
        return render_samples(self.world.samples(self.clock()))


class SampleWorld(Protocol):
    """What the exporter needs of :class:`aiops.sim.World`."""

    def samples(self, now: float) -> list[Sample]: ...
