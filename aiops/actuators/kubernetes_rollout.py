"""kubectl's rollout semantics as pure functions on JSON objects (no client, no clock).

``rollout undo`` picks the ReplicaSet with the second-highest
``deployment.kubernetes.io/revision``, copies its pod template without the
``pod-template-hash`` label and rebuilds the Deployment's annotations from it (keeping
the few the controller owns); ``rollout restart`` sets the pod-template annotation
``kubectl.kubernetes.io/restartedAt``. The idempotency bookkeeping (which action ids an
object has seen) lives in annotations too, so it travels in the same atomic write.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

REVISION = "deployment.kubernetes.io/revision"
HASH_LABEL = "pod-template-hash"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
LAST_ACTION = "aiops.dev/last-action-id"
LAST_ACTION_AT = "aiops.dev/last-action-at"
RECENT_ACTIONS = "aiops.dev/action-ids"
ROLLED_BACK_FROM = "aiops.dev/rolled-back-from"
ROLLED_BACK_TO = "aiops.dev/rolled-back-to"
PENDING_ACTION = "aiops.dev/pending-action"
KEEP_RECENT = 10
# kubectl rollout undo keeps these from the Deployment instead of copying the ReplicaSet's.
ANNOTATIONS_TO_SKIP = frozenset(
    {
        "kubectl.kubernetes.io/last-applied-configuration",
        REVISION,
        "deployment.kubernetes.io/revision-history",
        "deployment.kubernetes.io/desired-replicas",
        "deployment.kubernetes.io/max-replicas",
        "deprecated.deployment.rollback.to",
    }
)

Obj = dict[str, Any]


def annotations_of(obj: Mapping[str, Any]) -> dict[str, str]:
    """An object's annotations (empty when it has none)."""
    return dict(obj.get("metadata", {}).get("annotations") or {})


def revision(obj: Mapping[str, Any]) -> int:
    """The deployment revision recorded on a Deployment or ReplicaSet, 0 if none.

    >>> revision({"metadata": {"annotations": {REVISION: "3"}}})
    3
    """
    try:
        return int(annotations_of(obj).get(REVISION, "0"))
    except ValueError:
        return 0


def rfc3339(now: float) -> str:
    """Format like Go's ``time.RFC3339`` in UTC, as ``kubectl`` writes ``restartedAt``.

    >>> rfc3339(0)
    '1970-01-01T00:00:00Z'
    """
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str | None) -> float | None:
    """Unix seconds of an RFC 3339 timestamp, or None.

    >>> parse_time("1970-01-01T00:01:00Z")
    60.0
    """
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def applied_ids(obj: Mapping[str, Any]) -> list[str]:
    """Action ids recently applied to an object, newest first.

    >>> applied_ids({"metadata": {"annotations": {RECENT_ACTIONS: "b,a"}}})
    ['b', 'a']
    """
    raw = annotations_of(obj).get(RECENT_ACTIONS, "")
    return [i for i in raw.split(",") if i]


def id_annotations(
    obj: Mapping[str, Any], action_id: str, now: float | None = None
) -> dict[str, str]:
    """The annotations that record ``action_id`` as applied (bounded history), and when.

    The time is what every replica's guards read back (cooldown survives a failover).

    >>> id_annotations({}, "x")
    {'aiops.dev/last-action-id': 'x', 'aiops.dev/action-ids': 'x'}
    >>> id_annotations({}, "x", 0.0)[LAST_ACTION_AT]
    '1970-01-01T00:00:00.000000Z'
    """
    recent = [action_id, *[i for i in applied_ids(obj) if i != action_id]][:KEEP_RECENT]
    notes = {LAST_ACTION: action_id, RECENT_ACTIONS: ",".join(recent)}
    if now is not None:
        notes[LAST_ACTION_AT] = datetime.fromtimestamp(now, UTC).strftime(
            "%Y-%m-%dT%H:%M:%S.%fZ"
        )
    return notes


def last_action_at(obj: Mapping[str, Any]) -> float | None:
    """When aiops last acted on ``obj``, from its annotation.

    >>> last_action_at({"metadata": {"annotations": {LAST_ACTION_AT: "1970-01-01T00:01:00.5Z"}}})
    60.5
    """
    raw = annotations_of(obj).get(LAST_ACTION_AT)
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def owned_by(obj: Mapping[str, Any], owner: Mapping[str, Any]) -> bool:
    """True when ``obj`` has a controller reference to ``owner``'s uid."""
    uid = owner.get("metadata", {}).get("uid")
    refs = obj.get("metadata", {}).get("ownerReferences") or []
    return any(r.get("uid") == uid and r.get("controller", False) for r in refs)


def previous_replicaset(replicasets: Iterable[Obj]) -> Obj | None:
    """The ReplicaSet ``kubectl rollout undo`` (to revision 0) would restore.

    >>> rss = [{"metadata": {"name": n, "annotations": {REVISION: r}}}
    ...        for n, r in (("a", "1"), ("c", "3"), ("b", "2"))]
    >>> previous_replicaset(rss)["metadata"]["name"]
    'b'
    """
    latest: Obj | None = None
    previous: Obj | None = None
    latest_rev = previous_rev = -1
    for rs in replicasets:
        v = revision(rs)
        if latest_rev < v:
            previous, previous_rev = latest, latest_rev
            latest, latest_rev = rs, v
        elif previous_rev < v:
            previous, previous_rev = rs, v
    return previous


def template_without_hash(template: Mapping[str, Any]) -> Obj:
    """A pod template copy without the ``pod-template-hash`` label."""
    t = copy.deepcopy(dict(template))
    labels = t.get("metadata", {}).get("labels")
    if labels:
        labels.pop(HASH_LABEL, None)
    return t


def equal_ignore_hash(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Templates equal apart from the hash label (kubectl's ``EqualIgnoreHash``)."""
    return template_without_hash(a) == template_without_hash(b)


def rollback_annotations(deployment: Mapping[str, Any], rs: Mapping[str, Any]) -> dict[str, str]:
    """The Deployment annotations ``kubectl rollout undo`` writes.

    >>> dep = {"metadata": {"annotations": {REVISION: "2", "team": "x"}}}
    >>> rs = {"metadata": {"annotations": {REVISION: "1", "team": "y"}}}
    >>> rollback_annotations(dep, rs)
    {'deployment.kubernetes.io/revision': '2', 'team': 'y'}
    """
    current = annotations_of(deployment)
    out = {k: current[k] for k in ANNOTATIONS_TO_SKIP if k in current}
    out.update({k: v for k, v in annotations_of(rs).items() if k not in ANNOTATIONS_TO_SKIP})
    return dict(sorted(out.items()))


def rollback_patch(
    deployment: Mapping[str, Any], rs: Mapping[str, Any], extra: Mapping[str, str]
) -> list[Obj]:
    """kubectl's JSON patch for ``rollout undo``, plus aiops' annotations and a version lock."""
    notes = rollback_annotations(deployment, rs) | dict(extra)
    template = template_without_hash(rs.get("spec", {}).get("template", {}))
    return [
        {"op": "replace", "path": "/spec/template", "value": template},
        {"op": "replace", "path": "/metadata/annotations", "value": notes},
        {
            "op": "replace",
            "path": "/metadata/resourceVersion",
            "value": deployment["metadata"]["resourceVersion"],
        },
    ]


def rollout_in_progress(obj: Mapping[str, Any]) -> bool:
    """Not yet converged: generation unobserved, or replicas not all updated and available.

    >>> rollout_in_progress({"metadata": {"generation": 2}, "spec": {"replicas": 1},
    ...     "status": {"observedGeneration": 2, "updatedReplicas": 1, "availableReplicas": 1,
    ...                "replicas": 1}})
    False
    """
    meta, spec, status = obj.get("metadata", {}), obj.get("spec", {}), obj.get("status") or {}
    want = int(spec.get("replicas", 1))
    if int(status.get("observedGeneration", 0)) < int(meta.get("generation", 0)):
        return True
    if int(status.get("updatedReplicas", 0)) < want:
        return True
    if int(status.get("replicas", 0)) > int(status.get("updatedReplicas", 0)):
        return True
    return int(status.get("availableReplicas", 0)) < want


def pod_health(pod: Mapping[str, Any]) -> tuple[int, int, str]:
    """Sort key putting the least healthy pod first: not ready, most restarts, then name."""
    status = pod.get("status") or {}
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )
    restarts = sum(int(c.get("restartCount", 0)) for c in status.get("containerStatuses") or [])
    return (1 if ready else 0, -restarts, str(pod.get("metadata", {}).get("name", "")))


def selector_string(obj: Mapping[str, Any]) -> str:
    """``spec.selector.matchLabels`` as a label selector string.

    >>> selector_string({"spec": {"selector": {"matchLabels": {"b": "2", "a": "1"}}}})
    'a=1,b=2'
    """
    labels = obj.get("spec", {}).get("selector", {}).get("matchLabels") or {}
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


_VOLATILE = {
    "metadata.resourceVersion",
    "metadata.managedFields",
    "metadata.uid",
    "metadata.creationTimestamp",
}


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict) and value:
        for k, v in value.items():
            _flatten(v, f"{prefix}.{k}" if prefix else str(k), out)
    else:
        out[prefix] = value


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Changed leaf paths (outside ``status``) as ``{path: {"before": x, "after": y}}``.

    >>> diff({"spec": {"replicas": 2}}, {"spec": {"replicas": 5}})
    {'spec.replicas': {'before': 2, 'after': 5}}
    """
    a: dict[str, Any] = {}
    b: dict[str, Any] = {}
    _flatten({k: v for k, v in before.items() if k != "status"}, "", a)
    _flatten({k: v for k, v in after.items() if k != "status"}, "", b)
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(set(a) | set(b)):
        if path in _VOLATILE or any(path.startswith(v + ".") for v in _VOLATILE):
            continue
        if a.get(path) != b.get(path):
            out[path] = {"before": a.get(path), "after": b.get(path)}
    return out
