"""One replica for the racing test: a Remediator on a shared PostgreSQL journal.

Usage: python -m tests.e2e.replica_worker CONFIG_JSON WORLD SEED
Handles the same ``SIGNALS`` alerts as every other replica, in its own shuffled order,
ticking as it goes; every action it applies is appended as one line to WORLD (shared by
the replicas, never deduplicated), so a doubled action shows as a repeated id.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from collections import deque
from pathlib import Path

from aiops.config.journal import JournalConfig
from aiops.engines.remediate import Remediator
from aiops.journal import Journal, JournalWriteError
from aiops.journal.connect import postgres_backend
from aiops.model import Action, Alert, Outcome, OutcomeStatus, Target, TargetState
from aiops.runbook import parse_runbooks
from aiops.telemetry.logging import configure_logging, get_logger
from aiops.telemetry.metrics import Metrics

SIGNALS, TARGETS, T0 = 1000, 50, 1_800_000_000.0
RUNBOOKS = """
apiVersion: aiops/v1
kind: Runbook
metadata: {name: bounce}
spec:
  mode: auto
  triggers: [{alert: {alertname: WebDown}}]
  target: {kind: SandboxWorkload, namespace: shop, name: '{{ labels.workload }}'}
  guards: {cooldown: 1h}
  steps: [{action: restart}]
---
apiVersion: aiops/v1
kind: Runbook
metadata: {name: grow}
spec:
  mode: auto
  triggers: [{alert: {alertname: WebDown}}]
  target: {kind: SandboxWorkload, namespace: shop, name: '{{ labels.workload }}'}
  guards: {max_runs: [{count: 2, per: 1h}]}
  steps: [{action: scale, with: {delta: "+1", max: 50}}]
"""


def signal(i: int) -> Alert:
    return Alert(fingerprint=f"f{i}", status="firing",
                 labels={"alertname": "WebDown", "workload": f"w{i % TARGETS}"},
                 annotations={}, starts_at=f"s{i}", ends_at="", t=T0 + i)


class AppendWorld:
    """Applies by appending a line (one write, O_APPEND: atomic between processes)."""

    name = "append"

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def apply(self, action: Action, *, now: float) -> Outcome:
        line = json.dumps({"id": action.id, "kind": action.kind, "runbook": action.runbook,
                           "target": str(action.target), "pid": os.getpid()}) + "\n"
        os.write(self.fd, line.encode())
        return Outcome(action_id=action.id, status=OutcomeStatus.DONE)

    def observe(self, target: Target, *, now: float) -> TargetState:
        return TargetState(target=target, replicas=3, ready_replicas=3)

    def close(self) -> None:
        os.close(self.fd)


def main(config: str, world_path: Path, seed: int) -> None:
    configure_logging("json", level="error")
    cfg = JournalConfig.model_validate(json.loads(config))
    journal = Journal(backend=postgres_backend(cfg, Path("/")))
    world = AppendWorld(world_path)
    rem = Remediator(parse_runbooks(RUNBOOKS, file="race.yaml"), journal, world, Metrics(),
                     get_logger("replica"))
    order = list(range(SIGNALS))
    random.Random(seed).shuffle(order)
    todo, retried, n = deque(order), 0, 0
    while todo:
        i = todo.popleft()
        n += 1
        now = time.time()  # replicas share the wall clock (the guards compare times)
        try:
            rem.handle(signal(i), now)
            if n % 5 == 0:
                rem.tick(now, {})
        except JournalWriteError:  # a deadlock victim or a lost race: try it again later
            retried += 1
            todo.append(i)
    for _ in range(20):  # drain: every open incident this replica can advance
        try:
            rem.tick(time.time(), {})
        except JournalWriteError:
            retried += 1
    journal.close()
    world.close()
    print(json.dumps({"pid": os.getpid(), "retried": retried}))


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]))
