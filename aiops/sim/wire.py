"""The world server's wire format: actions, outcomes and target states as JSON. Pure.

Shared by the server (:mod:`aiops.http.world`) and its client actuator
(:mod:`aiops.actuators.world`), so both sides read and write the same shapes. Reading is
strict: a missing or mistyped field raises :class:`WireError` naming it, which the server
answers with a 400 and the client treats as a permanent failure.

>>> from aiops.model import Action, Target
>>> a = Action(id="inc-1:0", kind="scale", target=Target(kind="SandboxWorkload",
...            namespace="shop", name="frontend"), params={"replicas": 8})
>>> action_from_json(action_to_json(a)) == a
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiops.model import Action, Outcome, OutcomeStatus, Target, TargetState

MAX_ID = 200


class WireError(ValueError):
    """A JSON document that is not what the world's API expects; ``field`` names where."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _typed(value: Any, kind: type | tuple[type, ...]) -> bool:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        return False  # JSON true is not a number here
    return isinstance(value, kinds)


def _get(data: Mapping[str, Any], name: str, kind: type | tuple[type, ...], where: str,
         default: Any = ...) -> Any:
    field = f"{where}.{name}" if where else name
    if name not in data:
        if default is ...:
            raise WireError(field, "required")
        return default
    value = data[name]
    if not _typed(value, kind):
        names = "/".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise WireError(field, f"expected {names}")
    return value


def _object(data: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise WireError(where or "body", "expected an object")
    return data


def target_to_json(t: Target) -> dict[str, str]:
    return {"kind": t.kind, "namespace": t.namespace, "name": t.name}


def target_from_json(data: Any, where: str = "target") -> Target:
    d = _object(data, where)
    return Target(kind=_get(d, "kind", str, where), name=_get(d, "name", str, where),
                  namespace=_get(d, "namespace", str, where, ""))


def action_to_json(a: Action) -> dict[str, Any]:
    return {"id": a.id, "kind": a.kind, "target": target_to_json(a.target),
            "params": dict(a.params), "dry_run": a.dry_run, "incident": a.incident,
            "runbook": a.runbook, "step": a.step, "attempt": a.attempt}


def action_from_json(data: Any) -> Action:
    d = _object(data, "")
    action_id = _get(d, "id", str, "")
    if not action_id or len(action_id) > MAX_ID:
        raise WireError("id", f"must be 1..{MAX_ID} characters")
    return Action(id=action_id, kind=_get(d, "kind", str, ""),
                  target=target_from_json(_get(d, "target", dict, "")),
                  params=dict(_get(d, "params", dict, "", {})),
                  dry_run=_get(d, "dry_run", bool, "", False),
                  incident=_get(d, "incident", str, "", ""),
                  runbook=_get(d, "runbook", str, "", ""),
                  step=_get(d, "step", int, "", 0), attempt=_get(d, "attempt", int, "", 0))


def outcome_to_json(o: Outcome) -> dict[str, Any]:
    return {"action_id": o.action_id, "status": o.status.value, "message": o.message,
            "retry_after": o.retry_after, "before": dict(o.before), "after": dict(o.after)}


def outcome_from_json(data: Any) -> Outcome:
    d = _object(data, "")
    try:
        status = OutcomeStatus(_get(d, "status", str, ""))
    except ValueError:
        raise WireError("status", "not an outcome status") from None
    retry = _get(d, "retry_after", (int, float, type(None)), "", None)
    return Outcome(action_id=_get(d, "action_id", str, ""), status=status,
                   message=_get(d, "message", str, "", ""),
                   retry_after=float(retry) if retry is not None else None,
                   before=dict(_get(d, "before", dict, "", {})),
                   after=dict(_get(d, "after", dict, "", {})))


def state_to_json(s: TargetState) -> dict[str, Any]:
    return {"target": target_to_json(s.target), "exists": s.exists, "replicas": s.replicas,
            "ready_replicas": s.ready_replicas, "revision": s.revision,
            "rollout_in_progress": s.rollout_in_progress, "changed_at": s.changed_at,
            "hpa_min_replicas": s.hpa_min_replicas, "last_action_at": s.last_action_at,
            "details": dict(s.details)}


def state_from_json(data: Any) -> TargetState:
    d = _object(data, "")
    num = (int, float, type(None))

    def opt_float(name: str) -> float | None:
        v = _get(d, name, num, "", None)
        return float(v) if v is not None else None

    hpa = _get(d, "hpa_min_replicas", (int, type(None)), "", None)
    return TargetState(
        target=target_from_json(_get(d, "target", dict, "")),
        exists=_get(d, "exists", bool, "", True), replicas=_get(d, "replicas", int, "", 0),
        ready_replicas=_get(d, "ready_replicas", int, "", 0),
        revision=_get(d, "revision", int, "", 0),
        rollout_in_progress=_get(d, "rollout_in_progress", bool, "", False),
        changed_at=opt_float("changed_at"), hpa_min_replicas=hpa,
        last_action_at=opt_float("last_action_at"),
        details=dict(_get(d, "details", dict, "", {})))
