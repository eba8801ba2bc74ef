"""Server-side defaulting, as the API server does before it stores (and hashes) an object.

The defaults are not in the OpenAPI schemas (only in their prose); they come from the
``SetDefaults_*`` functions of k8s.io/kubernetes ``pkg/apis/{core,apps,autoscaling}/v1``,
limited to the fields of the kinds this server stores. They matter because the deployment
controller hashes the *defaulted* pod template: ``kubectl rollout undo`` sends back a
ReplicaSet's template after a Go round trip, and only a defaulted (and null-free) template
hashes the same as the one the ReplicaSet was made from.

>>> dep = {"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": {"spec": {
...     "containers": [{"name": "app", "image": "nginx", "ports": [{"containerPort": 80}]}]}}}}
>>> d = default(dep)["spec"]
>>> d["replicas"], d["strategy"]["rollingUpdate"], d["template"]["spec"]["dnsPolicy"]
(1, {'maxUnavailable': '25%', 'maxSurge': '25%'}, 'ClusterFirst')
>>> c = d["template"]["spec"]["containers"][0]
>>> c["imagePullPolicy"], c["ports"][0]["protocol"], c["terminationMessagePath"]
('Always', 'TCP', '/dev/termination-log')
"""

from __future__ import annotations

import copy
from typing import Any

Obj = dict[str, Any]


def prune_nulls(value: Any) -> Any:
    """Drop ``null`` members, as decoding into Go structs does (nil means absent).

    >>> prune_nulls({"a": None, "b": [{"c": None, "d": 1}]})
    {'b': [{'d': 1}]}
    """
    if isinstance(value, dict):
        return {k: prune_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [prune_nulls(v) for v in value]
    return value


def canonical(value: Any) -> Any:
    """Null-free and empty-free: equal exactly when Go's semantic DeepEqual says equal.

    >>> canonical({"metadata": {"creationTimestamp": None}, "resources": {}, "a": [1]})
    {'a': [1]}
    """
    if isinstance(value, dict):
        out = {k: canonical(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None and v != {} and v != []}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    return value


def _image_tag(image: str) -> str:
    if "@" in image:
        return ""  # a digest: never "latest"
    name = image.rsplit("/", 1)[-1]
    return name.split(":", 1)[1] if ":" in name else "latest"


def _probe(probe: Obj) -> None:
    probe.setdefault("timeoutSeconds", 1)
    probe.setdefault("periodSeconds", 10)
    probe.setdefault("successThreshold", 1)
    probe.setdefault("failureThreshold", 3)
    if isinstance(probe.get("httpGet"), dict):
        probe["httpGet"].setdefault("path", "/")
        probe["httpGet"].setdefault("scheme", "HTTP")


def _container(c: Obj) -> None:
    if not c.get("imagePullPolicy"):
        c["imagePullPolicy"] = "Always" if _image_tag(str(c.get("image", ""))) == "latest" \
            else "IfNotPresent"
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    c.setdefault("resources", {})
    for port in c.get("ports") or []:
        port.setdefault("protocol", "TCP")
    for name in ("livenessProbe", "readinessProbe", "startupProbe"):
        if isinstance(c.get(name), dict):
            _probe(c[name])
    for env in c.get("env") or []:
        ref = (env.get("valueFrom") or {}).get("fieldRef")
        if isinstance(ref, dict):
            ref.setdefault("apiVersion", "v1")


_VOLUME_SOURCES = {"configMap", "secret", "downwardAPI", "projected"}


def _volume(v: Obj) -> None:
    sources = [k for k in v if k != "name"]
    if not sources:
        v["emptyDir"] = {}
    for k in _VOLUME_SOURCES & set(sources):
        if isinstance(v[k], dict):
            v[k].setdefault("defaultMode", 420)


def pod_spec(spec: Obj) -> None:
    """Default a PodSpec in place (``SetDefaults_PodSpec`` and what it calls)."""
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("securityContext", {})
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("schedulerName", "default-scheduler")
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        _container(c)
    for v in spec.get("volumes") or []:
        _volume(v)


def _template(spec: Obj) -> None:
    template = spec.get("template")
    if isinstance(template, dict):
        pod_spec(template.setdefault("spec", {}))


def _deployment(spec: Obj) -> None:
    spec.setdefault("replicas", 1)
    strategy = spec.setdefault("strategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", "25%")
        rolling.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    _template(spec)


def _statefulset(spec: Obj) -> None:
    spec.setdefault("replicas", 1)
    spec.setdefault("podManagementPolicy", "OrderedReady")
    strategy = spec.setdefault("updateStrategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        strategy.setdefault("rollingUpdate", {}).setdefault("partition", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    retention = spec.setdefault("persistentVolumeClaimRetentionPolicy", {})
    retention.setdefault("whenDeleted", "Retain")
    retention.setdefault("whenScaled", "Retain")
    _template(spec)


def _replicaset(spec: Obj) -> None:
    spec.setdefault("replicas", 1)
    _template(spec)


def _hpa(spec: Obj) -> None:
    spec.setdefault("minReplicas", 1)
    if not spec.get("metrics"):
        spec["metrics"] = [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]


def _pod(spec: Obj) -> None:
    pod_spec(spec)
    spec.setdefault("enableServiceLinks", True)


_BY_KIND = {
    ("apps/v1", "Deployment"): _deployment,
    ("apps/v1", "StatefulSet"): _statefulset,
    ("apps/v1", "ReplicaSet"): _replicaset,
    ("autoscaling/v2", "HorizontalPodAutoscaler"): _hpa,
    ("v1", "Pod"): _pod,
}


def default(obj: Obj) -> Obj:
    """A defaulted, null-free copy of ``obj`` (kinds without defaults are only copied)."""
    out: Obj = prune_nulls(copy.deepcopy(obj))
    fn = _BY_KIND.get((str(out.get("apiVersion")), str(out.get("kind"))))
    if fn is not None and isinstance(out.get("spec"), dict):
        fn(out["spec"])
    return out
