"""The fake cluster's controllers: what kube-controller-manager would do after a write.

Deployments get a ReplicaSet per distinct pod template, named ``<deploy>-<hash>`` with the
``pod-template-hash`` label and a ``deployment.kubernetes.io/revision`` annotation. The
template is matched and hashed in its canonical form (defaulted by the server, without
nulls or empty members: what Go's semantic equality compares), so going back to an old
template, e.g. by ``kubectl rollout undo``, revives its ReplicaSet with the next revision
(the old one joins ``deployment.kubernetes.io/revision-history``), as the real deployment
controller does; ReplicaSets scaled to zero beyond ``revisionHistoryLimit`` are deleted.
ReplicaSets and StatefulSets keep their pods at the desired count. Status
(``observedGeneration``, ``updatedReplicas``, ``availableReplicas``) converges at once, or
``rollout_seconds`` after the change (:meth:`Controller.finish_rollouts` ends the wait).
"""

from __future__ import annotations

import copy
import hashlib
import json
import secrets
import time
from typing import Any, Protocol

from tests.fakekube.defaults import canonical

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
HASH_LABEL = "pod-template-hash"
# Annotations the deployment controller does not copy to ReplicaSets.
SKIP_COPY = {
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
}


class ObjectStore(Protocol):
    """The part of the fake server's store that controllers use."""

    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None: ...

    def list(self, resource: str, namespace: str) -> list[dict[str, Any]]: ...

    def save(self, resource: str, obj: dict[str, Any]) -> dict[str, Any]: ...

    def remove(self, resource: str, namespace: str, name: str) -> None: ...


def _without_hash(template: dict[str, Any]) -> Any:
    t = copy.deepcopy(template)
    (t.get("metadata") or {}).get("labels", {}).pop(HASH_LABEL, None)
    return canonical(t)


def template_hash(template: dict[str, Any]) -> str:
    """Stable short hash of a pod template's canonical form, ignoring its own hash label.

    >>> template_hash({"metadata": {"labels": {"app": "a"}}}) == template_hash(
    ...     {"metadata": {"labels": {"app": "a", "pod-template-hash": "x"},
    ...                   "creationTimestamp": None}, "spec": {"volumes": []}})
    True
    """
    blob = json.dumps(_without_hash(template), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:10]


def equal_ignore_hash(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """The deployment controller's ``EqualIgnoreHash``: same template apart from the label."""
    return bool(_without_hash(a) == _without_hash(b))


def _owned_by(obj: dict[str, Any], owner: dict[str, Any]) -> bool:
    refs = obj.get("metadata", {}).get("ownerReferences", [])
    return any(r.get("uid") == owner["metadata"]["uid"] for r in refs)


def _owner_ref(owner: dict[str, Any], kind: str, api_version: str) -> dict[str, Any]:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def revision_of(obj: dict[str, Any]) -> int:
    """The ``deployment.kubernetes.io/revision`` of an object, 0 when absent."""
    try:
        return int(obj.get("metadata", {}).get("annotations", {}).get(REVISION, "0"))
    except ValueError:
        return 0


class Controller:
    """Reconciles workloads in a store; ``rollout_seconds`` delays status convergence."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self.rollout_seconds = 0.0
        self._due: dict[tuple[str, str, str], float] = {}

    def reconcile(self, resource: str, namespace: str, name: str) -> None:
        """Bring one object's dependents and status in line with its spec."""
        obj = self.store.get(resource, namespace, name)
        if obj is None:
            return
        if resource == "deployments":
            self._deployment(obj)
        elif resource == "statefulsets":
            self._statefulset(obj)
        elif resource == "replicasets":
            self._pods_for(obj, "ReplicaSet", "apps/v1", obj["spec"]["template"], None)

    def finish_rollouts(self) -> None:
        """Make every pending rollout due now (the next tick completes them)."""
        for key in self._due:
            self._due[key] = 0.0

    def tick(self) -> None:
        """Finish rollouts whose delay has passed."""
        now = time.monotonic()
        for key, due in list(self._due.items()):
            if due <= now:
                del self._due[key]
                obj = self.store.get(*key)
                if obj is not None:
                    self._set_status(key[0], obj, done=True)

    def _set_status(self, resource: str, obj: dict[str, Any], *, done: bool) -> None:
        desired = int(obj["spec"].get("replicas", 1))
        status = obj.setdefault("status", {})
        status["observedGeneration"] = obj["metadata"].get("generation", 1)
        status["replicas"] = desired
        if done:
            status.update(updatedReplicas=desired, readyReplicas=desired, availableReplicas=desired)
            if resource == "statefulsets":
                status["currentReplicas"] = desired
        else:
            status.update(updatedReplicas=0)
        self.store.save(resource, obj)

    def _converge(self, resource: str, obj: dict[str, Any], changed: bool) -> None:
        key = (resource, obj["metadata"]["namespace"], obj["metadata"]["name"])
        if changed and self.rollout_seconds > 0:
            self._due[key] = time.monotonic() + self.rollout_seconds
            self._set_status(resource, obj, done=False)
        elif key not in self._due:
            self._set_status(resource, obj, done=True)
        else:
            status = obj.setdefault("status", {})
            if status.get("observedGeneration") != obj["metadata"].get("generation"):
                self._set_status(resource, obj, done=False)

    def _deployment(self, dep: dict[str, Any]) -> None:
        ns = dep["metadata"]["namespace"]
        spec = dep["spec"]
        owned = [rs for rs in self.store.list("replicasets", ns) if _owned_by(rs, dep)]
        if spec.get("paused"):
            self._converge("deployments", dep, changed=False)
            return
        current = next(
            (rs for rs in owned if equal_ignore_hash(rs["spec"]["template"], spec["template"])),
            None,
        )
        max_rev = max((revision_of(rs) for rs in owned), default=0)
        changed = False
        if current is None:
            changed = True
            h = template_hash(spec["template"])
            template = copy.deepcopy(spec["template"])
            template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = h
            selector = copy.deepcopy(spec.get("selector", {"matchLabels": {}}))
            selector.setdefault("matchLabels", {})[HASH_LABEL] = h
            current = {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {
                    "name": f"{dep['metadata']['name']}-{h}",
                    "namespace": ns,
                    "labels": dict(template["metadata"]["labels"]),
                    "annotations": {},
                    "ownerReferences": [_owner_ref(dep, "Deployment", "apps/v1")],
                },
                "spec": {"replicas": 0, "selector": selector, "template": template},
            }
        elif revision_of(current) != max_rev:
            changed = True
        old_rev = revision_of(current)
        history = current["metadata"].get("annotations", {}).get(REVISION_HISTORY)
        annotations = {
            k: v for k, v in dep["metadata"].get("annotations", {}).items() if k not in SKIP_COPY
        }
        revision = old_rev if not changed else max_rev + 1
        annotations[REVISION] = str(revision)
        if changed and old_rev:  # a revived ReplicaSet remembers its earlier revisions
            history = f"{history},{old_rev}" if history else str(old_rev)
        if history:
            annotations[REVISION_HISTORY] = history
        current["metadata"]["annotations"] = annotations
        current["spec"]["replicas"] = int(spec.get("replicas", 1))
        current = self.store.save("replicasets", current)
        self._pods_for(current, "ReplicaSet", "apps/v1", current["spec"]["template"], None)
        old = [rs for rs in owned if rs["metadata"]["name"] != current["metadata"]["name"]]
        for rs in old:
            if rs["spec"].get("replicas"):
                rs["spec"]["replicas"] = 0
                self.store.save("replicasets", rs)
                self._pods_for(rs, "ReplicaSet", "apps/v1", rs["spec"]["template"], None)
        limit = int(spec.get("revisionHistoryLimit", 10))
        for rs in sorted(old, key=revision_of)[: max(0, len(old) - limit)]:
            self.store.remove("replicasets", ns, rs["metadata"]["name"])
        dep["metadata"].setdefault("annotations", {})[REVISION] = str(revision)
        self.store.save("deployments", dep)
        self._converge("deployments", dep, changed)

    def _statefulset(self, sts: dict[str, Any]) -> None:
        name = sts["metadata"]["name"]
        self._pods_for(sts, "StatefulSet", "apps/v1", sts["spec"]["template"], name)
        status = sts.get("status", {})
        changed = status.get("observedGeneration") != sts["metadata"].get("generation")
        self._converge("statefulsets", sts, changed)

    def _pods_for(
        self,
        owner: dict[str, Any],
        kind: str,
        api_version: str,
        template: dict[str, Any],
        ordinal_prefix: str | None,
    ) -> None:
        ns = owner["metadata"]["namespace"]
        desired = int(owner["spec"].get("replicas", 1))
        pods = sorted(
            (p for p in self.store.list("pods", ns) if _owned_by(p, owner)),
            key=lambda p: p["metadata"]["name"],
        )
        for extra in pods[desired:]:
            self.store.remove("pods", ns, extra["metadata"]["name"])
        names = {p["metadata"]["name"] for p in pods}
        for i in range(len(pods), desired):
            if ordinal_prefix is not None:
                name = next(
                    f"{ordinal_prefix}-{n}"
                    for n in range(desired + len(names) + 1)
                    if f"{ordinal_prefix}-{n}" not in names
                )
            else:
                name = f"{owner['metadata']['name']}-{secrets.token_hex(3)[:5]}"
            names.add(name)
            del i
            pod = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": name,
                    "namespace": ns,
                    "labels": dict(template.get("metadata", {}).get("labels", {})),
                    "annotations": dict(template.get("metadata", {}).get("annotations", {})),
                    "ownerReferences": [_owner_ref(owner, kind, api_version)],
                },
                "spec": copy.deepcopy(template.get("spec", {})),
                "status": {
                    "phase": "Running",
                    "conditions": [{"type": "Ready", "status": "True"}],
                    "containerStatuses": [
                        {"name": c.get("name", "main"), "ready": True, "restartCount": 0}
                        for c in template.get("spec", {}).get("containers", [])
                    ],
                },
            }
            self.store.save("pods", pod)
        if kind == "ReplicaSet":
            self._replicaset_status(ns, owner["metadata"]["name"], desired)

    def _replicaset_status(self, namespace: str, name: str, replicas: int) -> None:
        rs = self.store.get("replicasets", namespace, name)
        if rs is None:
            return
        counts = {k: replicas for k in ("fullyLabeledReplicas", "readyReplicas",
                                        "availableReplicas") if replicas}
        rs["status"] = {"replicas": replicas, **counts,
                        "observedGeneration": rs["metadata"].get("generation", 1)}
        self.store.save("replicasets", rs)
