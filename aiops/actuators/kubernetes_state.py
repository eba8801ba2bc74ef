"""What aiops reads from Kubernetes objects and what it leaves on them, as pure functions.

:func:`target_state` turns a workload (and its HPA and ReplicaSets) into the
:class:`TargetState` guards and verification use; :func:`summary` is the short form kept in
outcomes; :func:`event_body` is the core/v1 Event recorded for every action.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from aiops.actuators import kubernetes_rollout as ro
from aiops.model import Action, Target, TargetState

REASONS = {
    "scale": "AiopsScaled",
    "restart": "AiopsRestarted",
    "rollback": "AiopsRolledBack",
    "delete_pod": "AiopsDeletedPod",
}

Obj = dict[str, Any]


def changed_at(replicasets: list[Obj]) -> float | None:
    """When the newest revision's ReplicaSet was created (the last template change).

    >>> changed_at([{"metadata": {"creationTimestamp": "1970-01-01T00:01:00Z",
    ...              "annotations": {ro.REVISION: "2"}}}])
    60.0
    """
    if not replicasets:
        return None
    newest = max(replicasets, key=ro.revision)
    return ro.parse_time(newest.get("metadata", {}).get("creationTimestamp"))


def target_state(
    target: Target, obj: Obj, hpa: Obj | None, replicasets: list[Obj] | None
) -> TargetState:
    """Replicas, readiness, revision, rollout progress and HPA floor of a workload."""
    spec, status = obj.get("spec", {}), obj.get("status") or {}
    return TargetState(
        target=target,
        replicas=int(spec.get("replicas", 1)),
        ready_replicas=int(status.get("readyReplicas", 0)),
        revision=ro.revision(obj),
        rollout_in_progress=ro.rollout_in_progress(obj),
        changed_at=changed_at(replicasets) if replicasets is not None else None,
        hpa_min_replicas=int(hpa["spec"].get("minReplicas", 1)) if hpa else None,
        last_action_at=ro.last_action_at(obj),
        details={
            "paused": bool(spec.get("paused", False)),
            "generation": obj["metadata"].get("generation"),
            "observed_generation": status.get("observedGeneration"),
            "updated_replicas": status.get("updatedReplicas", 0),
            "available_replicas": status.get("availableReplicas", 0),
            "hpa": hpa["metadata"]["name"] if hpa else None,
            "hpa_max_replicas": hpa["spec"].get("maxReplicas") if hpa else None,
            "last_action_id": ro.annotations_of(obj).get(ro.LAST_ACTION),
        },
    )


def summary(obj: Mapping[str, Any]) -> dict[str, Any]:
    """Kind, name, replica counts and revision of an object, for outcomes.

    >>> summary({"kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 2}})
    {'kind': 'Deployment', 'name': 'web', 'replicas': 2}
    """
    spec = obj.get("spec", {})
    out: dict[str, Any] = {"kind": obj.get("kind", ""), "name": obj.get("metadata", {}).get("name")}
    for key in ("replicas", "minReplicas", "maxReplicas"):
        if key in spec:
            out[key] = spec[key]
    if ro.REVISION in ro.annotations_of(obj):
        out["revision"] = ro.revision(obj)
    return out


def event_body(action: Action, now: float, message: str, *, warning: bool, instance: str) -> Obj:
    """A core/v1 Event on the action's target, named from the action id (so retries dedupe)."""
    target = action.target
    digest = hashlib.sha256(f"{action.id}:{warning}".encode()).hexdigest()[:12]
    incident = action.incident or "none"
    stamp = ro.rfc3339(now)
    return {
        "metadata": {
            "name": f"{target.name}.aiops-{digest}",
            "namespace": target.namespace,
            "annotations": {"aiops.dev/action-id": action.id, "aiops.dev/incident": incident},
        },
        "involvedObject": {
            "apiVersion": "apps/v1",
            "kind": target.kind,
            "name": target.name,
            "namespace": target.namespace,
        },
        "reason": "AiopsRefused" if warning else REASONS.get(action.kind, "Aiops"),
        "message": f"{message} [incident {incident}, action {action.id}]"[:1024],
        "type": "Warning" if warning else "Normal",
        "source": {"component": "aiops", "host": instance},
        "reportingComponent": "aiops",
        "reportingInstance": instance,
        "action": action.kind,
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }
