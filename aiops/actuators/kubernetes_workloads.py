"""The requests the Kubernetes actuator makes, one method each, each naming its RBAC call.

Which client method serves a Deployment or a StatefulSet, how a workload's ReplicaSets,
HPA and pods are found, and how a pod is deleted or an Event created. Objects are plain
JSON dicts; failures arrive already sorted into :class:`~aiops.errors.TemporaryError` /
:class:`~aiops.errors.PermanentError` by :class:`~aiops.actuators.kubernetes_api.KubeApi`.
What an action *means* (idempotency, refusals, retries) is
:mod:`aiops.actuators.kubernetes`' business, not this module's.
"""

from __future__ import annotations

from typing import Any

from aiops.actuators import kubernetes_rollout as ro
from aiops.actuators.kubernetes_api import MERGE_PATCH, Call, KubeApi
from aiops.errors import TemporaryError
from aiops.model import Target

Obj = dict[str, Any]
_RESOURCES = {"Deployment": "deployments", "StatefulSet": "statefulsets"}


class Workloads:
    """Reads and writes of Deployments, StatefulSets and what hangs off them."""

    def __init__(self, api: KubeApi, *, field_manager: str) -> None:
        self.api = api
        self.field_manager = field_manager

    def _call(self, verb: str, target: Target, sub: str = "") -> Call:
        return Call(
            verb=verb,
            group="apps",
            resource=_RESOURCES[target.kind] + sub,
            namespace=target.namespace,
            name=target.name,
        )

    def read(self, target: Target) -> Obj:
        """The workload object as the API server has it."""
        fn = (
            self.api.apps.read_namespaced_deployment
            if target.kind == "Deployment"
            else self.api.apps.read_namespaced_stateful_set
        )
        return self.api.do(self._call("get", target), fn, target.name, target.namespace)

    def patch(self, target: Target, body: Any, ctype: str, dry: bool) -> Obj:
        """Patch the workload object with ``ctype`` (the one write each action makes)."""
        apps = self.api.apps
        fns = {
            "Deployment": apps.patch_namespaced_deployment,
            "StatefulSet": apps.patch_namespaced_stateful_set,
        }
        return self.api.do(
            self._call("patch", target),
            fns[target.kind],
            target.name,
            target.namespace,
            body,
            dry_run="All" if dry else None,
            field_manager=self.field_manager,
            _content_type=ctype,
        )

    def replicasets(self, dep: Obj, target: Target) -> list[Obj]:
        """The ReplicaSets the Deployment ``dep`` owns (its rollout history)."""
        call = Call(verb="list", group="apps", resource="replicasets", namespace=target.namespace)
        listed = self.api.do(
            call,
            self.api.apps.list_namespaced_replica_set,
            target.namespace,
            label_selector=ro.selector_string(dep),
        )
        return [rs for rs in listed.get("items", []) if ro.owned_by(rs, dep)]

    def hpa_for(self, target: Target) -> Obj | None:
        """The HorizontalPodAutoscaler whose ``scaleTargetRef`` is ``target``, if any."""
        call = Call(
            verb="list",
            group="autoscaling",
            resource="horizontalpodautoscalers",
            namespace=target.namespace,
        )
        listed = self.api.do(
            call, self.api.autoscaling.list_namespaced_horizontal_pod_autoscaler, target.namespace
        )
        for hpa in listed.get("items", []):
            ref = hpa.get("spec", {}).get("scaleTargetRef", {})
            if ref.get("kind") == target.kind and ref.get("name") == target.name:
                return dict(hpa)
        return None

    def patch_hpa(self, hpa: Obj, body: Obj, dry: bool) -> Obj:
        """Merge-patch the HPA ``hpa`` with ``body``."""
        meta = hpa["metadata"]
        call = Call(
            verb="patch",
            group="autoscaling",
            resource="horizontalpodautoscalers",
            namespace=meta["namespace"],
            name=meta["name"],
        )
        return self.api.do(
            call,
            self.api.autoscaling.patch_namespaced_horizontal_pod_autoscaler,
            meta["name"],
            meta["namespace"],
            body,
            dry_run="All" if dry else None,
            field_manager=self.field_manager,
            _content_type=MERGE_PATCH,
        )

    def pods(self, obj: Obj, target: Target) -> list[Obj]:
        """The pods matching the workload ``obj``'s selector."""
        call = Call(verb="list", group="", resource="pods", namespace=target.namespace)
        items: list[Obj] = self.api.do(
            call,
            self.api.core.list_namespaced_pod,
            target.namespace,
            label_selector=ro.selector_string(obj),
        ).get("items", [])
        return items

    def delete_pod(self, target: Target, name: str, dry: bool) -> None:
        """Delete pod ``name`` in the target's namespace."""
        call = Call(
            verb="delete", group="", resource="pods", namespace=target.namespace, name=name
        )
        self.api.do(
            call,
            self.api.core.delete_namespaced_pod,
            name,
            target.namespace,
            dry_run="All" if dry else None,
        )

    def create_event(self, namespace: str, body: Obj) -> None:
        """Create a core/v1 Event; one that already exists (a retried create) is fine."""
        call = Call(verb="create", group="", resource="events", namespace=namespace)
        try:
            self.api.do(call, self.api.core.create_namespaced_event, namespace, body)
        except TemporaryError as e:
            if "already exists" in str(e):
                return
            raise
