"""How journal values become SQLite columns and come back: the journal's row codec.

Labels, payloads, reasons, steps, params and outcomes are stored as canonical JSON
(sorted keys, anything unknown as its ``str``); rows are read back into the views of
:mod:`aiops.journal.views` or, for stored webhook alerts, into :class:`~aiops.model.Alert`.
No SQL here: the queries live in :mod:`aiops.journal.store`.

>>> dumps({"b": 1, "a": (2, 3)})
'{"a": [2, 3], "b": 1}'
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from typing import Any

from aiops.journal.views import ActionView, EventView, IncidentView, step_from_dict
from aiops.model import Alert, Anomaly, ForecastSignal, Outcome, Signal, Target


def dumps(value: Any) -> str:
    """Canonical JSON text of ``value`` (sorted keys; unknown types as ``str``)."""
    return json.dumps(value, default=str, sort_keys=True)


def signal_payload(signal: Signal) -> dict[str, Any]:
    """A JSON summary of a signal for the journal."""
    if isinstance(signal, Anomaly):
        s = signal.score
        return {
            "series": str(s.key), "value": s.value, "score": s.score, "expected": s.expected,
            "lower": s.lower, "upper": s.upper, "since": signal.since, "why": s.why,
            "detectors": list(s.detectors),
        }
    if isinstance(signal, Alert):
        return {
            "fingerprint": signal.fingerprint, "status": signal.status,
            "annotations": dict(signal.annotations), "startsAt": signal.starts_at,
            "endsAt": signal.ends_at, "generatorURL": signal.generator_url,
        }
    if isinstance(signal, ForecastSignal):
        return {
            "series": str(signal.key), "horizon": signal.horizon, "predicted": signal.predicted,
            "capacity": signal.capacity, "desired_replicas": signal.desired_replicas,
            "current_replicas": signal.current_replicas, "why": signal.why,
        }
    return {"runbook": signal.runbook, "requested_by": signal.requested_by}


def signal_columns(signal: Signal, now: float) -> tuple[Any, ...]:
    """Values for ``signals (dedup_key, kind, t, received_at, name, fingerprint, status,
    labels, payload)``."""
    labels: Mapping[str, str]
    name = fingerprint = status = ""
    if isinstance(signal, Alert):
        labels, name = signal.labels, signal.name
        fingerprint, status = signal.fingerprint, signal.status
    elif isinstance(signal, Anomaly | ForecastSignal):
        labels = signal.labels
        name = labels.get("metric", "")
    else:
        labels, name = signal.labels, signal.runbook
    return (signal.dedup_key, str(signal.kind), signal.t, now, name, fingerprint, status,
            dumps(dict(labels)), dumps(signal_payload(signal)))


def alert_from_row(r: sqlite3.Row) -> Alert:
    """The :class:`Alert` a ``signals`` row of kind ``alert`` was stored from."""
    p = json.loads(r["payload"])
    return Alert(
        fingerprint=r["fingerprint"], status=r["status"], labels=json.loads(r["labels"]),
        annotations=p.get("annotations") or {}, starts_at=p.get("startsAt", ""),
        ends_at=p.get("endsAt", ""), generator_url=p.get("generatorURL", ""), t=r["t"],
    )


def incident_from_row(r: sqlite3.Row) -> IncidentView:
    """An ``incidents`` row as an :class:`IncidentView`."""
    return IncidentView(
        id=r["id"], runbook=r["runbook"],
        target=Target(kind=r["target_kind"], namespace=r["target_namespace"],
                      name=r["target_name"]),
        status=r["status"], mode=r["mode"], opened_at=r["opened_at"],
        closed_at=r["closed_at"], step=r["step"], phase=r["phase"],
        phase_since=r["phase_since"], attempts=r["attempts"], next_try_at=r["next_try_at"],
        signal_key=r["signal_key"], labels=json.loads(r["labels"]),
        reasons=tuple(json.loads(r["reasons"])),
        steps=tuple(step_from_dict(s) for s in json.loads(r["steps"])),
        approval_expires_at=r["approval_expires_at"], approver=r["approver"],
    )


def event_from_row(r: sqlite3.Row) -> EventView:
    """An ``events`` row as an :class:`EventView`."""
    return EventView(
        id=r["id"], t=r["t"], kind=r["kind"], reason=r["reason"], incident=r["incident"],
        runbook=r["runbook"], target=r["target"], detail=json.loads(r["detail"]),
    )


def action_from_row(r: sqlite3.Row) -> ActionView:
    """An ``actions`` row as an :class:`ActionView`."""
    return ActionView(
        id=r["id"], incident=r["incident"], step=r["step"], kind=r["kind"],
        target=r["target"], status=r["status"], dry_run=bool(r["dry_run"]),
        started_at=r["started_at"], finished_at=r["finished_at"],
        params=json.loads(r["params"]), outcome=json.loads(r["outcome"]),
    )


def outcome_json(outcome: Outcome) -> str:
    """The ``actions.outcome`` text of an action's outcome."""
    return dumps({
        "status": str(outcome.status), "message": outcome.message,
        "retry_after": outcome.retry_after, "before": dict(outcome.before),
        "after": dict(outcome.after),
    })
