"""The daemon under benchmark: ``aiops run`` with a remote-write source, in its own process.

Its CPU time and peak RSS are read from the process (psutil, ``/proc/<pid>/status``), its
counters and lag histograms from its own ``/metrics``.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil
import yaml
from prometheus_client.parser import text_string_to_metric_families

from aiops.bench import realservers
from aiops.bench.synthetic import METRICS, PREFIX
from aiops.telemetry.ingest import quantile


class DaemonProcess:
    """``aiops run`` with a remote-write source, on a free loopback port."""

    def __init__(self, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "runbooks").mkdir(exist_ok=True)
        self.port = realservers.free_port()
        config = {
            "state_dir": str(workdir / "state"),
            "source": {"type": "remote_write", "remote_write": {
                "metrics": [{"name": m, "match": f"{PREFIX}{m}",
                             "keep_labels": ["namespace", "workload"]} for m in METRICS],
                "backfill": False}},
            "actuator": {"type": "record"},
            "runbooks": {"paths": [str(workdir / "runbooks")]},
            "loop": {"interval": "15s", "backfill": 0},
            "http": {"port": self.port},
        }
        self.config = workdir / "aiops.yaml"
        self.config.write_text(yaml.safe_dump(config))
        self.log = workdir / "daemon.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> DaemonProcess:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "aiops", "run", "--config", str(self.config),
                 "--log-format", "json"], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise realservers.ServerError(f"daemon exited: {self.log.read_text()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            time.sleep(0.1)
        raise realservers.ServerError("daemon did not answer /healthz within 60 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def cpu(self) -> float:
        assert self.proc is not None
        t = psutil.Process(self.proc.pid).cpu_times()
        return float(t.user + t.system)

    def peak_rss(self) -> int:
        assert self.proc is not None
        status = Path(f"/proc/{self.proc.pid}/status")
        if status.exists():
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        return int(psutil.Process(self.proc.pid).memory_info().rss)

    def metrics(self) -> dict[str, Any]:
        """Scored count and the lag histogram's cumulative buckets."""
        text = httpx.get(f"{self.url}/metrics", timeout=30).text
        out: dict[str, Any] = {"scored": 0.0, "pending": 0.0, "lag": {}, "arrival": {}}
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                if s.name == "aiops_remote_write_samples_total" and \
                        s.labels.get("result") == "scored":
                    out["scored"] = s.value
                elif s.name == "aiops_remote_write_pending_samples":
                    out["pending"] = s.value
                elif s.name == "aiops_ingest_lag_seconds_bucket":
                    out["lag"][float(s.labels["le"])] = s.value
                elif s.name == "aiops_remote_write_arrival_lag_seconds_bucket":
                    out["arrival"][float(s.labels["le"])] = s.value
        return out

    def __enter__(self) -> DaemonProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def lag_quantiles(before: dict[float, float],
                  after: dict[float, float]) -> tuple[float, float, int]:
    """p50, p99 and count of the lag histogram between two scrapes of it."""
    bounds = sorted(b for b in after if b != float("inf"))
    cum = np.array([after[b] - before.get(b, 0.0) for b in [*bounds, float("inf")]])
    counts = np.diff(np.r_[0.0, cum]).astype(np.int64)
    arr = np.array(bounds)
    return quantile(arr, counts, 0.5), quantile(arr, counts, 0.99), int(counts.sum())


def wait_until(what: str, predicate: Any, timeout: float, status: Any = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    more = f" ({status()})" if status is not None else ""
    raise realservers.ServerError(f"timed out after {timeout:.0f} s waiting for {what}{more}")
