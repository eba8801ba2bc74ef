"""A Kubernetes API that stalls for 20 s, and one that loses the answers to committed writes
(the fake API server over HTTP, reached by the real client from a real daemon)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from aiops.bench.chaos_launch import Launcher
from tests.fakekube.plugin import deployment
from tests.fakekube.server import FakeKube, Fault, running
from tests.faults.daemon import Daemon, firing_body, replay_source, wait_until

LAST_ACTION = "aiops.dev/last-action-id"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
STALL = 20.0
TIMEOUT = 2.0  # the actuator's request timeout
INTERVAL = 1.0
RUNBOOK = """apiVersion: aiops/v1
kind: Runbook
metadata: {name: heal}
spec:
  mode: auto
  triggers:
    - alert: {alertname: KubeFault, status: firing}
  target: {kind: Deployment, namespace: '{{ labels.namespace }}',
           name: '{{ labels.deployment }}'}
  steps:
    - action: restart
      retry: 10
    - action: scale
      with: {delta: "+1", max: 10}
      retry: 10
"""


@pytest.fixture
def kube() -> Iterator[FakeKube]:
    yield from running()


def _daemon(tmp_path: Path, kube: FakeKube, launcher: Launcher) -> Daemon:
    (tmp_path / "rb").mkdir()
    (tmp_path / "rb" / "heal.yaml").write_text(RUNBOOK)
    return Daemon(tmp_path, {
        "source": replay_source(tmp_path),
        "actuator": {"type": "kubernetes", "kubernetes": {
            "host": kube.url, "request_timeout": f"{TIMEOUT}s", "backoff": "200ms",
            "max_backoff": "1s"}},
        "loop": {"interval": f"{INTERVAL}s", "backfill": "0s"},
        "runbooks": {"paths": [str(tmp_path / "rb")]},
        "guards": {"changes_per_hour": 1000},
    }, launcher=launcher).start()


def _writes(kube: FakeKube, namespace: str) -> list[tuple[str, int]]:
    """(action id, status) of every write to the namespace's Deployments carrying one."""
    out = []
    for w in kube.writes(rf"/namespaces/{namespace}/deployments/"):
        notes = (w.body or {}).get("metadata", {}).get("annotations") or {} \
            if isinstance(w.body, dict) else {}
        if notes.get(LAST_ACTION):
            out.append((str(notes[LAST_ACTION]), w.status))
    return out


def _completed(daemon: Daemon) -> list[Any]:
    return daemon.query("SELECT id FROM incidents WHERE status = 'completed'")


def test_a_stalled_api_never_stalls_the_daemon(
    tmp_path: Path, kube: FakeKube, launcher: Launcher
) -> None:
    """For 20 s every request to the workload hangs: /healthz answers throughout, poll cycles
    keep completing (the remediate lock is held at most one request timeout at a time),
    nothing acts twice, and the ladder finishes once the API answers again."""
    kube.create("deployments", deployment("web", namespace="stall"))
    daemon = _daemon(tmp_path, kube, launcher)
    wait_until("ready", lambda: daemon.ready()[0] == 200)
    stall = kube.inject(Fault(path=r"/namespaces/stall/", delay=STALL, count=10_000))
    began = time.monotonic()
    daemon.deliver(firing_body(alertname="KubeFault", deployment="web", namespace="stall"))
    wait_until("a request to hang", lambda: stall.count < 10_000)
    cycles = daemon.metric("aiops_cycles_total", result="ok") or 0.0
    health: list[int] = []
    loop: list[str] = []
    with httpx.Client(timeout=TIMEOUT) as client:
        while time.monotonic() - began < STALL:
            try:
                health.append(client.get(f"{daemon.url}/healthz").status_code)
            except httpx.HTTPError as exc:
                health.append(0)
                print("healthz failed:", exc)
            loop.append(daemon.ready()[1].get("loop", "?"))
            time.sleep(0.25)
    stall.count = 0  # the API answers again
    assert health and set(health) == {200}, health
    # A completed poll cycle within every three intervals, all through the stall: the lock
    # was never held across two request timeouts.
    assert set(loop) == {"ok"}, [c for c in loop if c != "ok"]
    assert (daemon.metric("aiops_cycles_total", result="ok") or 0.0) >= cycles + 8
    wait_until("the ladder to finish", lambda: _completed(daemon), timeout=90)
    writes = [a for a, status in _writes(kube, "stall") if status < 300]
    assert len(writes) == 2 and len(set(writes)) == 2, writes  # one restart, one scale
    dep = kube.get("deployments", "stall", "web")
    assert dep["spec"]["replicas"] == 3
    assert RESTARTED_AT in dep["spec"]["template"]["metadata"]["annotations"]
    retries = daemon.query("SELECT COUNT(*) AS n FROM events WHERE code = 'action-retry'")
    assert retries[0]["n"] >= 1  # it waited by scheduling retries, not by sleeping
    assert daemon.stop() == 0


def test_lost_answers_to_committed_writes_are_never_doubled(
    tmp_path: Path, kube: FakeKube, launcher: Launcher
) -> None:
    """The server commits each write and answers 500: the retry re-reads, finds the action id
    on the object and stops there (one write per action, the outcome done)."""
    kube.create("deployments", deployment("web", namespace="lost"))
    kube.inject(Fault(path=r"/namespaces/lost/deployments/web$", method="PATCH", status=500,
                      after_commit=True, count=2))
    daemon = _daemon(tmp_path, kube, launcher)
    daemon.deliver(firing_body(alertname="KubeFault", deployment="web", namespace="lost"))
    wait_until("the ladder to finish", lambda: _completed(daemon), timeout=90)
    writes = _writes(kube, "lost")
    assert [status for _, status in writes] == [500, 500]  # both committed, both answers lost
    assert len({a for a, _ in writes}) == 2  # the restart and the scale, each sent once
    dep = kube.get("deployments", "lost", "web")
    assert dep["spec"]["replicas"] == 3, "scaled +1 exactly once"
    outcomes = daemon.query("SELECT status, outcome FROM actions ORDER BY step")
    assert [r["status"] for r in outcomes] == ["done", "done"]
    assert all("confirmed on re-read" in r["outcome"] for r in outcomes)
    assert daemon.stop() == 0
