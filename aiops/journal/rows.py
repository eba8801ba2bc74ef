"""How journal values become columns and come back: the journal's row codec.

Labels, payloads, reasons, steps, params and outcomes are stored as canonical JSON
(sorted keys, anything unknown as its ``str``); rows are read back into the views of
:mod:`aiops.journal.views` or, for stored webhook alerts, into :class:`~aiops.model.Alert`.
A large label set is stored once in ``blobs`` under its hash and referenced as
``@<sha256>`` (:func:`blob_ref`), so one big alert is not copied into every incident.
No SQL here: the queries live in :mod:`aiops.journal.store` and :mod:`aiops.journal.tx`.

>>> dumps({"b": 1, "a": (2, 3)})
'{"a": [2, 3], "b": 1}'
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from aiops.journal.views import (
    ActionStatus,
    ActionView,
    EventView,
    IncidentView,
    reasons_from_json,
    step_from_dict,
)
from aiops.model import Alert, Anomaly, ForecastSignal, Outcome, Signal, Target
from aiops.runbook.lifecycle import Phase, Status


class Row(Protocol):
    """A result row by column name (``sqlite3.Row``, or psycopg's ``dict_row``)."""

    def __getitem__(self, key: str) -> Any: ...


#: Reads the body of a blob by hash (the store passes its own lookup).
BlobReader = Callable[[str], str]
#: JSON texts longer than this are stored once in ``blobs`` and referenced by hash.
INLINE_LIMIT = 1024


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


def blob_ref(text: str) -> tuple[str, str | None]:
    """``(column value, blob hash or None)``: short texts inline, long ones by reference.

    >>> blob_ref('{"a": "b"}')
    ('{"a": "b"}', None)
    >>> ref, h = blob_ref("x" * 2000); ref == "@" + h
    True
    """
    if len(text) <= INLINE_LIMIT:
        return text, None
    digest = hashlib.sha256(text.encode()).hexdigest()
    return "@" + digest, digest


def read_json(value: str, blobs: BlobReader) -> Any:
    """Decode a JSON column written through :func:`blob_ref`."""
    if value.startswith("@"):
        value = blobs(value[1:])
    return json.loads(value)


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


def alert_from_row(r: Row, blobs: BlobReader) -> Alert:
    """The :class:`Alert` a ``signals`` row of kind ``alert`` was stored from."""
    p = json.loads(r["payload"])
    return Alert(
        fingerprint=r["fingerprint"], status=r["status"], labels=read_json(r["labels"], blobs),
        annotations=p.get("annotations") or {}, starts_at=p.get("startsAt", ""),
        ends_at=p.get("endsAt", ""), generator_url=p.get("generatorURL", ""), t=r["t"],
    )


def incident_from_row(r: Row, blobs: BlobReader) -> IncidentView:
    """An ``incidents`` row as an :class:`IncidentView`."""
    return IncidentView(
        id=r["id"], runbook=r["runbook"],
        target=Target(kind=r["target_kind"], namespace=r["target_namespace"],
                      name=r["target_name"]),
        status=Status(r["status"]), mode=r["mode"], opened_at=r["opened_at"],
        closed_at=r["closed_at"], step=r["step"], phase=Phase(r["phase"]),
        phase_since=r["phase_since"], attempts=r["attempts"], next_try_at=r["next_try_at"],
        signal_key=r["signal_key"], labels=read_json(r["labels"], blobs),
        reasons=reasons_from_json(json.loads(r["reasons"])),
        steps=tuple(step_from_dict(s) for s in json.loads(r["steps"])),
        approval_expires_at=r["approval_expires_at"], approver=r["approver"],
        acted=bool(r["acted"]), close_code=r["close_code"] or "",
    )


def event_from_row(r: Row) -> EventView:
    """An ``events`` row as an :class:`EventView`."""
    return EventView(
        id=r["id"], t=r["t"], kind=r["kind"], reason=r["reason"], code=r["code"] or "",
        incident=r["incident"], runbook=r["runbook"], target=r["target"],
        detail=json.loads(r["detail"]),
    )


def action_from_row(r: Row) -> ActionView:
    """An ``actions`` row as an :class:`ActionView`."""
    return ActionView(
        id=r["id"], incident=r["incident"], step=r["step"], kind=r["kind"],
        target=r["target"], status=ActionStatus(r["status"]), dry_run=bool(r["dry_run"]),
        started_at=r["started_at"], finished_at=r["finished_at"], attempts=r["attempts"],
        params=json.loads(r["params"]), before=json.loads(r["before_image"] or "{}"),
        outcome=json.loads(r["outcome"]), owner=r["owner"] or "",
    )


def outcome_json(outcome: Outcome) -> str:
    """The ``actions.outcome`` text of an action's outcome."""
    return dumps({
        "status": str(outcome.status), "message": outcome.message,
        "retry_after": outcome.retry_after, "before": dict(outcome.before),
        "after": dict(outcome.after),
    })
