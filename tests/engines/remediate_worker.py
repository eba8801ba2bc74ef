"""A remediation process for the restart tests: one phase per run, optionally SIGKILLed.

Usage: python -m tests.engines.remediate_worker STATE_DIR PHASE
The world is a file: every applied action is a JSON line in STATE_DIR/applied.jsonl,
and applying an id already in it is a no-op (as every actuator must behave).
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from textwrap import dedent

from aiops.engines.remediate import Remediator
from aiops.journal import Journal
from aiops.model import Action, Outcome, OutcomeStatus, Target, TargetState
from aiops.runbook import parse_runbooks
from aiops.telemetry.logging import get_logger
from aiops.telemetry.metrics import Metrics
from tests.runbook.factories import LADDER, anomaly, sample

APPROVE = dedent(LADDER).replace("name: ladder", "name: gated").replace(
    "mode: auto", "mode: approve").replace(
    "score_above: 0.9}", "score_above: 0.9, labels: {workload: cart}}",
) + "  approval: {timeout: 1h}\n"
RATED = dedent(LADDER).replace("guards: {cooldown: 10m}",
                               "guards: {max_runs: [{count: 1, per: 1h}]}").replace(
    "name: ladder", "name: rated").replace("score_above: 0.9}",
                                           "score_above: 0.9, labels: {workload: frontend}}")
LADDER_CHECKOUT = dedent(LADDER).replace("score_above: 0.9}",
                                         "score_above: 0.9, labels: {workload: checkout}}")


class FileWorld:
    name = "file"

    def __init__(self, path: Path) -> None:
        self.path = path

    def _applied(self) -> list[dict[str, object]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines()]

    def apply(self, action: Action, *, now: float) -> Outcome:
        if any(a["id"] == action.id for a in self._applied()):
            return Outcome(action_id=action.id, status=OutcomeStatus.ALREADY_DONE)
        with self.path.open("a") as f:
            f.write(json.dumps({"id": action.id, "kind": action.kind,
                                "params": dict(action.params)}) + "\n")
            f.flush()
            os.fsync(f.fileno())
        return Outcome(action_id=action.id, status=OutcomeStatus.DONE)

    def observe(self, target: Target, *, now: float) -> TargetState:
        return TargetState(target=target, replicas=3)

    def close(self) -> None:
        return None


def main(state: Path, phase: str) -> None:
    books = [parse_runbooks(t, file=n)[0] for n, t in
             (("ladder", LADDER_CHECKOUT), ("gated", APPROVE), ("rated", RATED))]
    rem = Remediator(books, Journal(state / "journal.sqlite"), FileWorld(state / "applied.jsonl"),
                     Metrics(), get_logger("worker"))
    out: dict[str, object] = {}
    if phase == "a":
        rem.handle(anomaly("latency_p99", "checkout", t=0.0), 0.0)
        rem.handle(anomaly("latency_p99", "cart", t=0.0), 0.0)       # awaits approval
        rem.handle(anomaly("latency_p99", "frontend", t=0.0), 0.0)   # uses the 1/h slot
        rem.tick(1.0, {})  # checkout: scale applied, now verifying
        os.kill(os.getpid(), signal.SIGKILL)
    elif phase == "b":
        latest = {**sample("latency_p99", "checkout", t=200.0, value=0.9),
                  **sample("latency_p99", "frontend", t=200.0, value=0.1)}
        rem.tick(200.0, latest)  # checkout fails verification -> restart; frontend resolved
        rem.tick(210.0, sample("latency_p99", "checkout", t=210.0, value=0.1))  # resolved
        p = rem.handle(anomaly("latency_p99", "checkout", t=300.0), 300.0)[0]
        print(json.dumps({"cooldown": p.reason.to_dict()}), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    elif phase == "c":
        p = rem.handle(anomaly("latency_p99", "checkout", t=600.0), 600.0)[0]
        out["cooldown"] = p.reason.to_dict()
        p = rem.handle(anomaly("latency_p99", "frontend", t=900.0), 900.0)[0]
        out["rated"] = p.reason.to_dict()
        pending = rem.journal.incidents(status="awaiting-approval")
        out["pending"] = [i.runbook for i in pending]
        rem.approve(pending[0].id, "alice", 950.0)
        rem.tick(951.0, {})
        out["statuses"] = sorted((i.runbook, i.status.value) for i in rem.journal.incidents())
    print(json.dumps(out))


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
