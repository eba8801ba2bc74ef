"""One real ``aiops run`` process for a fault test: its config, HTTP and journal, read back.

The daemon is forked warm from the session's fork server (:mod:`aiops.bench.chaos_launch`,
the ``launcher`` fixture) and runs the unmodified CLI in a session of its own, registered
with :mod:`tests.realservers.daemons` so an interrupted run ends it. The test talks to it
only over loopback HTTP and reads its journal with a separate read-only connection, as an
operator would.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from aiops.bench.chaos_launch import Launcher, Life
from aiops.bench.realservers import free_port
from tests.realservers import daemons

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures"
FIRING = FIXTURES / "alertmanager-v0.25-firing.json"


RESOLVED = FIXTURES / "alertmanager-v0.25-resolved.json"


def resolved_body(*, alertname: str, deployment: str, namespace: str = "chaos") -> bytes:
    """The real resolved delivery, for the same alert as :func:`firing_body` (fingerprint
    and startsAt alike)."""
    return firing_body(alertname=alertname, deployment=deployment, namespace=namespace,
                       template=RESOLVED)


def firing_body(*, alertname: str, deployment: str, namespace: str = "chaos",
                fingerprint: str | None = None, template: Path = FIRING) -> bytes:
    """The real Alertmanager delivery in ``../shared/fixtures``, re-aimed at one target."""
    body = json.loads(template.read_text())
    alert = body["alerts"][0]
    alert["labels"].update(alertname=alertname, deployment=deployment, namespace=namespace,
                           pod=f"{deployment}-0")
    digest = hashlib.sha256(f"{alertname}/{namespace}/{deployment}".encode()).hexdigest()
    alert["fingerprint"] = fingerprint or digest[:16]
    body["commonLabels"] = dict(alert["labels"])
    body["groupLabels"] = {"alertname": alertname}
    return json.dumps(body).encode()


def wait_until(what: str, predicate: Callable[[], object], *, timeout: float = 60.0,
               every: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy; that value."""
    deadline = time.monotonic() + timeout
    while True:
        got = predicate()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(every)


@dataclass
class Daemon:
    """A daemon process started from ``config`` (a dict written as YAML into ``workdir``)."""

    workdir: Path
    config: dict[str, Any]
    launcher: Launcher
    port: int = field(default_factory=free_port)
    life: Life | None = None

    def __post_init__(self) -> None:
        self.config.setdefault("http", {})["port"] = self.port
        self.config.setdefault("state_dir", str(self.workdir / "state"))
        self.path = self.workdir / "aiops.yaml"
        self.path.write_text(yaml.safe_dump(self.config))
        self.log = self.workdir / "daemon.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def journal(self) -> Path:
        return Path(self.config["state_dir"]) / "journal.sqlite"

    def start(self, *extra: str) -> Daemon:
        self.life = self.launcher.spawn(
            ["run", "--config", str(self.path), "--log-format", "json", *extra], log=self.log)
        daemons.track(self.life.pid)
        wait_until("the daemon's HTTP", self.answers, timeout=90)
        return self

    def alive(self) -> bool:
        return self.life is not None and self.life.alive()

    def answers(self) -> bool:
        if not self.alive():
            code = self.life.returncode if self.life is not None else None
            raise AssertionError(f"daemon exited {code}:\n{self.tail()}")
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        """kill -9 the daemon's process group (a crash, children included)."""
        assert self.life is not None
        self.life.kill()
        daemons.untrack(self.life.pid)

    def stop(self) -> int:
        """SIGTERM; the exit code."""
        assert self.life is not None
        code = self.life.stop()
        daemons.untrack(self.life.pid)
        return code

    def tail(self, n: int = 4000) -> str:
        return self.log.read_text()[-n:] if self.log.exists() else ""

    # -- HTTP ----------------------------------------------------------------------------

    def post_alerts(self, body: bytes) -> int:
        try:
            return httpx.post(f"{self.url}/v1/alerts", content=body, timeout=5.0,
                              headers={"Content-Type": "application/json"}).status_code
        except httpx.HTTPError:
            return 0

    def deliver(self, body: bytes, *, timeout: float = 60.0) -> None:
        """Post until a 2xx, as Alertmanager retries."""
        wait_until("the alert to be acknowledged",
                   lambda: 200 <= self.post_alerts(body) < 300, timeout=timeout, every=0.2)

    def ready(self) -> tuple[int, Mapping[str, str]]:
        try:
            r = httpx.get(f"{self.url}/readyz", timeout=2.0)
        except httpx.HTTPError:
            return 0, {}
        return r.status_code, r.json().get("checks", {})

    def metric(self, name: str, **labels: str) -> float | None:
        """One sample of ``name`` with exactly ``labels`` from ``/metrics`` (None: absent)."""
        text = httpx.get(f"{self.url}/metrics", timeout=5.0).text
        for family in parse_metrics(text):
            for sample in family:
                if sample[0] == name and sample[1] == labels:
                    return sample[2]
        return None

    # -- journal -------------------------------------------------------------------------

    def query(self, sql: str, *args: object) -> list[sqlite3.Row]:
        if not self.journal.exists():
            return []
        db = sqlite3.connect(f"file:{self.journal}?mode=ro", uri=True, timeout=10)
        db.row_factory = sqlite3.Row
        try:
            return db.execute(sql, args).fetchall()
        except sqlite3.OperationalError:
            return []
        finally:
            db.close()


def parse_metrics(text: str) -> list[list[tuple[str, dict[str, str], float]]]:
    """The Prometheus text exposition as families of (name, labels, value)."""
    from prometheus_client.parser import text_string_to_metric_families

    return [[(s.name, dict(s.labels), float(s.value)) for s in fam.samples]
            for fam in text_string_to_metric_families(text)]


def replay_source(workdir: Path) -> dict[str, Any]:
    """A source with nothing to say (one row), so only alerts drive the runbooks."""
    csv = workdir / "empty.csv"
    csv.write_text(f"timestamp,metric,namespace,workload,value\n{time.time():.0f},x,n,w,0\n")
    return {"type": "replay", "replay": {"path": str(csv)}}
