"""Export / import: a host moves its journal from SQLite to PostgreSQL (and back) losing
nothing: incidents, timelines, actions, approvals, guards, unhandled alerts."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from aiops.actuators.record import RecordingActuator
from aiops.engines.remediate import Remediator
from aiops.journal import Journal
from aiops.journal.transfer import ImportRefused, export, import_rows
from aiops.model import ReasonCode, Target
from aiops.runbook.lifecycle import Status
from aiops.telemetry.logging import get_logger
from aiops.telemetry.metrics import Metrics
from tests.realservers.postgres import PgDatabase
from tests.runbook.factories import alert, runbook

BOOKS = ["""
apiVersion: aiops/v1
kind: Runbook
metadata: {name: bounce}
spec:
  mode: auto
  triggers: [{alert: {alertname: WebDown}}]
  target: {kind: SandboxWorkload, namespace: shop, name: '{{ labels.workload }}'}
  guards: {cooldown: 1h, max_runs: [{count: 2, per: 1h}]}
  steps: [{action: restart}]
""", """
apiVersion: aiops/v1
kind: Runbook
metadata: {name: gated}
spec:
  mode: approve
  approval: {timeout: 1h}
  triggers: [{alert: {alertname: ApiDown}}]
  target: {kind: SandboxWorkload, namespace: shop, name: '{{ labels.workload }}'}
  steps: [{action: scale, with: {replicas: 4}}]
"""]
WEB = Target(kind="SandboxWorkload", namespace="shop", name="web")


def _remediator(j: Journal, world: RecordingActuator) -> Remediator:
    return Remediator([runbook(b) for b in BOOKS], j, world, Metrics(), get_logger("t"))


def _history(j: Journal) -> str:
    """A run with one of everything; the id of an incident approved but not yet run."""
    r = _remediator(j, RecordingActuator(replicas=3))
    r.handle(alert("WebDown", fingerprint="a", workload="web", big="x" * 3000), 100.0)
    r.tick(101.0, {})  # restarted web: completed, acted (cooldown and window start)
    r.handle(alert("WebDown", fingerprint="b", workload="web"), 102.0)  # skipped: cooldown
    r.handle(alert("ApiDown", fingerprint="c", workload="api"), 103.0)  # awaits approval
    pending = j.incidents(status="awaiting-approval")[0]
    r.approve(pending.id, "alice", 104.0)
    j.record_alerts([alert("WebDown", fingerprint="d", workload="db")], 105.0)  # unhandled
    return pending.id


def _snapshot(j: Journal) -> dict[str, Any]:
    incidents = [j.incident_json(i.id) for i in j.incidents(limit=1000)]
    return {
        "incidents": incidents, "events": [e.to_dict() for e in j.events(limit=1000)],
        "unhandled": [a.dedup_key for a in j.unhandled_alerts()],
        "firing": sorted(j.firing_alerts()), "counts": j.counts(),
        "cooldown": j.last_closed_at("bounce", WEB),
        "window": j.run_starts("bounce", WEB, since=0.0),
        "changes": j.changes_since(0.0),
    }


def _sqlite(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "j.sqlite")


@pytest.mark.parametrize("direction", ["sqlite-to-postgresql", "postgresql-to-sqlite"])
def test_history_moves_between_engines_intact(direction: str, tmp_path: Path,
                                              pg_db: PgDatabase) -> None:
    """Everything reads back the same after the move, and the engine carries on from it."""
    source, target = (_sqlite(tmp_path), pg_db.journal()) if direction.startswith(
        "sqlite") else (pg_db.journal(), _sqlite(tmp_path))
    approved = _history(source)
    before = _snapshot(source)
    out = io.StringIO()
    written = export(source, out)
    assert written["incidents"] == 2 and written["blobs"] == 1 and written["actions"] == 1
    read = import_rows(target, io.StringIO(out.getvalue()), source="export.jsonl")
    assert read == written
    assert _snapshot(target) == before
    # the history is live: guards hold, the approval is honoured, ids go on
    world = RecordingActuator(replicas=3)
    r = _remediator(target, world)
    plans = r.handle(alert("WebDown", fingerprint="e", workload="web"), 200.0)
    assert [p.reason.code for p in plans] == [ReasonCode.COOLDOWN]
    r.tick(201.0, {})  # the unhandled alert and the approved incident run now
    assert sorted((a.kind, a.target.name) for a in world.applied) == [
        ("restart", "db"), ("scale", "api")]
    got = target.incident(approved)
    assert got is not None and got.status is Status.COMPLETED and got.approver == "alice"
    assert min(e.id for e in target.events() if e.t >= 200.0) > max(
        e["id"] for e in before["events"])


def test_a_bad_line_is_refused_with_its_number_and_nothing_is_written(
        tmp_path: Path, pg_db: PgDatabase) -> None:
    """A broken export names the line and the problem; the target stays empty."""
    source = _sqlite(tmp_path)
    _history(source)
    out = io.StringIO()
    export(source, out)
    lines = out.getvalue().splitlines(keepends=True)
    bad = [*lines[:5], json.dumps({"table": "incidents", "row": {"id": "x", "colour": 1}})
           + "\n", *lines[5:]]
    target = pg_db.journal()
    with pytest.raises(ImportRefused) as info:
        import_rows(target, bad, source="export.jsonl")
    assert str(info.value) == "export.jsonl:6: incidents: unknown column 'colour'"
    assert target.incidents() == [] and target.events() == []
    with pytest.raises(ImportRefused, match=r"export.jsonl:1: not an aiops journal export"):
        import_rows(target, ['{"hello": 1}\n'], source="export.jsonl")


def test_import_into_a_journal_with_history_is_refused(tmp_path: Path) -> None:
    """Importing never merges into (or overwrites) an existing history."""
    source = _sqlite(tmp_path)
    _history(source)
    out = io.StringIO()
    export(source, out)
    with pytest.raises(ImportRefused, match="already holds signals"):
        import_rows(source, io.StringIO(out.getvalue()))
