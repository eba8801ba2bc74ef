"""kill -9 during alert-driven Kubernetes steps (the fake API server over HTTP): every
restart and scale lands exactly once, counted by action id in the server's write log."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from aiops.bench.chaos import STRIKE_WAIT, Effect, Kill, run_chaos
from aiops.bench.chaos_launch import Launcher
from tests.fakekube.plugin import deployment
from tests.fakekube.server import FakeKube, running
from tests.faults.daemon import FIRING
from tests.realservers import daemons

ALERTS = 40
LAST_ACTION = "aiops.dev/last-action-id"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
RUNBOOK = """apiVersion: aiops/v1
kind: Runbook
metadata: {name: chaos-kube}
spec:
  mode: auto
  triggers:
    - alert: {alertname: ChaosKube, status: firing}
  target: {kind: Deployment, namespace: '{{ labels.namespace }}',
           name: '{{ labels.deployment }}'}
  guards: {cooldown: 1m}
  steps:
    - action: restart
    - action: scale
      with: {delta: "+1", max: 10}
"""


def action_of(body: Any) -> str | None:
    """The action id a write to a Deployment carries (None for writes of no action)."""
    if not isinstance(body, dict):
        return None
    notes = (body.get("metadata") or {}).get("annotations") or {}
    value = notes.get(LAST_ACTION)
    return str(value) if value else None


class KubeScenario:
    """Restart then scale a Deployment per alert; kills strike as the server commits a write
    (the response never reaches the daemon) or at a random moment."""

    name = "kubernetes"
    alertnames = ("ChaosKube",)
    #: Kubernetes steps are reconciled by reading the object back, so re-applying an action
    #: that certainly did not land is not a double; only its effect is counted.
    idempotent = frozenset({"chaos-kube"})

    def __init__(self, kube: FakeKube) -> None:
        self.kube = kube
        for i in range(ALERTS):
            kube.create("deployments", deployment("web", namespace=self.target(i)[0]))
        self._armed: tuple[int, Kill] | None = None
        self._fired = threading.Event()
        self.strikes_on_write = 0
        kube.after_write.append(self._on_write)

    def _on_write(self, resource: str, before: Any, after: Any) -> None:
        if resource != "deployments" or self._armed is None or after is None:
            return
        left, kill = self._armed
        if left > 1:
            self._armed = (left - 1, kill)
            return
        self._armed = None
        self.strikes_on_write += 1
        kill()  # committed, the answer not yet sent: the daemon never learns the outcome
        self._fired.set()

    def target(self, j: int) -> tuple[str, str]:
        return f"chaos-{j:03d}", "web"  # a namespace each: the fake server lists per namespace

    def runbooks(self) -> Mapping[str, str]:
        return {"kube.yaml": RUNBOOK}

    def actuator(self) -> dict[str, Any]:
        return {"type": "kubernetes", "kubernetes": {
            "host": self.kube.url, "backoff": "100ms", "request_timeout": "5s"}}

    def strike(self, kill: Kill, rng: random.Random, alive: Callable[[], bool]) -> None:
        self._fired.clear()
        self._armed = (rng.randint(1, 3), kill)
        deadline = time.monotonic() + STRIKE_WAIT
        while not self._fired.wait(0.02) and alive() and time.monotonic() < deadline:
            pass
        self._armed = None

    def writes(self) -> list[tuple[str, int]]:
        """(action id, HTTP status) of every write to a Deployment that carried one."""
        return [(a, w.status) for w in self.kube.writes(r"/deployments/")
                if (a := action_of(w.body)) is not None]

    def effects(self) -> Mapping[str, Effect]:
        runs = Counter(a for a, _ in self.writes())
        applied = Counter(a for a, status in self.writes() if status < 300)
        return {a: Effect(runs=runs[a], applied=applied[a]) for a in runs}


@pytest.fixture
def kube() -> Iterator[FakeKube]:
    yield from running()


def test_kill_nine_at_twenty_points_in_kubernetes_steps(
    tmp_path: Path, kube: FakeKube, launcher: Launcher
) -> None:
    """20 lives end in kill -9, most as the API server commits a write whose answer the daemon
    never gets: each restart and scale lands once, and every object shows exactly that."""
    scenario = KubeScenario(kube)
    report = run_chaos(scenario, kills=20, alerts=ALERTS, seed=5, workdir=tmp_path,
                       template=FIRING, on_spawn=daemons.track, launcher=launcher)
    assert report.kills == 20 and scenario.strikes_on_write >= 8
    assert report.acked == ALERTS and report.lost == 0, report.details
    assert report.doubled == 0, report.details
    assert report.unknown_at_kill, "no kill landed between a step's start and its outcome"
    assert {st for _, st in report.final.values()} == {"completed"}
    effects = scenario.effects()
    assert report.applied == 2 * ALERTS == sum(e.applied for e in effects.values())
    for i in range(ALERTS):  # the objects agree with the write log
        dep = kube.get("deployments", f"chaos-{i:03d}", "web")
        ids = dep["metadata"]["annotations"]["aiops.dev/action-ids"].split(",")
        assert len(ids) == 2 and len(set(ids)) == 2, ids
        assert dep["spec"]["replicas"] == 3, "scaled +1 exactly once"
        assert RESTARTED_AT in dep["spec"]["template"]["metadata"]["annotations"]
        restarts = [w for w in kube.writes(rf"/namespaces/chaos-{i:03d}/deployments/web$")
                    if w.status < 300 and RESTARTED_AT in str(w.body)]
        assert len(restarts) == 1, f"chaos-{i:03d}/web restarted {len(restarts)} times"
