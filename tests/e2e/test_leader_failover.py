"""Two daemons behind one Lease: the standby takes over within the lease and repeats nothing."""

from __future__ import annotations

import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fakekube.plugin import deployment
from tests.fakekube.server import FakeKube, running
from tests.realservers import daemons

LEASE, RENEW, STEP = 6.0, 2.0, 2.0
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
RUNBOOK = """apiVersion: aiops/v1
kind: Runbook
metadata: {name: web-latency}
spec:
  mode: auto
  triggers:
    - anomaly: {metric: latency_p99, score_above: 0.9, for: 4s}
  target: {kind: Deployment, namespace: '{{ labels.namespace }}', name: '{{ labels.workload }}'}
  guards: {cooldown: 10m}
  steps:
    - action: restart
      verify: {metric: latency_p99, below: 0.5, within: 5m, on_no_data: inconclusive}
"""


@pytest.fixture
def kube() -> Iterator[FakeKube]:
    yield from running()


def history(path: Path, t0: float, anomaly_at: float) -> None:
    """latency_p99 of shop/web every STEP seconds: an hour of normal, then a jump to 2 s."""
    rows = ["timestamp,metric,namespace,workload,value"]
    start = t0 - t0 % STEP - 3600
    for i in range(int(2 * 3600 / STEP)):
        t = start + i * STEP
        normal = 0.2 + 0.01 * math.sin(i / 7.0) + 0.005 * math.cos(i / 3.0)
        value = 2.0 if anomaly_at <= t < anomaly_at + 600 else normal
        rows.append(f"{t},latency_p99,shop,web,{value:.4f}")
    path.write_text("\n".join(rows) + "\n")


def config(tmp: Path, name: str, kube_url: str, port: int, csv: Path) -> Path:
    books = tmp / "runbooks"
    books.mkdir(exist_ok=True)
    (books / "web.yaml").write_text(RUNBOOK)
    cfg = tmp / f"{name}.yaml"
    cfg.write_text(
        f"state_dir: {tmp / name}\n"
        f"source: {{type: replay, replay: {{path: {csv}}}}}\n"
        "actuator:\n  type: kubernetes\n  kubernetes:\n"
        f"    host: '{kube_url}'\n    backoff: 0.05\n"
        f"    leader_election: {{enabled: true, namespace: shop, identity: {name},"
        f" lease_duration: {LEASE}s, renew_period: {RENEW}s}}\n"
        f"loop: {{interval: {STEP}s, speed: 1}}\n"
        f"runbooks: {{paths: [{books}]}}\n"
        f"http: {{port: {port}}}\n"
    )
    return cfg


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(cfg: Path, log: Path) -> subprocess.Popen[bytes]:
    return daemons.spawn(
        [sys.executable, "-m", "aiops", "run", "--config", str(cfg), "--log-format", "json"],
        log=log)


def ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def wait(what: str, predicate: object, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return time.monotonic()
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def done_actions(state: Path) -> list[str]:
    try:
        db = sqlite3.connect(f"file:{state / 'journal.sqlite'}?mode=ro", uri=True)
        try:
            return [r[0] for r in db.execute("SELECT id FROM actions WHERE status = 'done'")]
        finally:
            db.close()
    except sqlite3.OperationalError:
        return []


def test_standby_takes_over_within_the_lease_and_never_repeats(
    tmp_path: Path, kube: FakeKube
) -> None:
    """Kill -9 the leader after it acted: the standby leads within the lease, no second restart."""
    kube.create("deployments", deployment("web"))
    t0 = time.time()
    csv = tmp_path / "history.csv"
    history(csv, t0, anomaly_at=t0 + 20)
    port_a, port_b, log = free_port(), free_port(), tmp_path / "daemons.log"
    a = start(config(tmp_path, "a", kube.url, port_a, csv), log)
    procs = [a]
    try:
        wait("a to lead", lambda: ready(port_a), 30)
        b = start(config(tmp_path, "b", kube.url, port_b, csv), log)
        procs.append(b)
        wait("b to serve HTTP", lambda: _up(port_b), 60)
        standby = httpx.get(f"http://127.0.0.1:{port_b}/readyz")
        assert standby.status_code == 503 and standby.json()["checks"]["leader"] == "standby"
        assert ready(port_a), "a lost the lease while b started"
        refused = httpx.post(f"http://127.0.0.1:{port_b}/v1/alerts", json={})
        assert refused.status_code == 503, "a standby must not take webhooks"

        wait("a to restart web", lambda: done_actions(tmp_path / "a"), 60)
        os.killpg(a.pid, signal.SIGKILL)
        wait("b to lead", lambda: ready(port_b), LEASE + RENEW + 30)
        time.sleep(4 * STEP)  # the anomaly is still on: b sees it and must not act again
    finally:
        for p in procs:
            with_suppressed_kill(p)

    # Never two leaders: in the server's write log every renewal by a precedes b's first,
    # which took the Lease over (one more transition). How long b waits is pinned with a
    # simulated clock in tests/actuators/test_lease.py.
    holders = [who for who, _ in lease_writes(kube)]
    assert "a" in holders and "b" in holders
    assert "a" not in holders[holders.index("b"):], holders
    transitions = [n for who, n in lease_writes(kube) if who == "b"]
    assert transitions[0] == max(n for who, n in lease_writes(kube) if who == "a") + 1
    template = kube.get("deployments", "shop", "web")["spec"]["template"]["metadata"]
    assert RESTARTED_AT in template.get("annotations", {})
    restarts = [
        w for w in kube.writes(r"/deployments/web$")
        if w.status < 300 and RESTARTED_AT in str(w.body)
    ]
    assert len(restarts) == 1, f"web was restarted {len(restarts)} times"
    assert done_actions(tmp_path / "b") == [], "the standby re-applied the leader's action"


def lease_writes(kube: FakeKube) -> list[tuple[str, int]]:
    """(holder, leaseTransitions) of every renewal the server committed, in order."""
    out = []
    for w in kube.writes(r"/leases"):
        spec = w.body.get("spec", {}) if isinstance(w.body, dict) else {}
        if w.status < 300 and spec.get("holderIdentity") and spec.get("renewTime"):
            out.append((str(spec["holderIdentity"]), int(spec.get("leaseTransitions", 0))))
    return out


def _up(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
    except httpx.HTTPError:
        return False
    return True


def with_suppressed_kill(p: subprocess.Popen[bytes]) -> None:
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGTERM)
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(5)
