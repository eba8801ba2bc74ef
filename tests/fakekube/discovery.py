"""What the fake API server serves, and the discovery documents that tell clients so.

``kubectl`` (and client-go) learn the server's resources from ``/api``, ``/apis``,
``/api/v1`` and ``/apis/<group>/<version>`` (the legacy, unaggregated discovery: the
server answers plain JSON to the aggregated-discovery ``Accept`` header, which clients
accept as "not supported") and ``/version``. The kinds' shapes are not described here:
they come from the OpenAPI schemas (:mod:`tests.fakekube.schemas`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.fakekube.schemas import KUBE_VERSION

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclass(frozen=True, kw_only=True)
class Served:
    """One resource the server stores."""

    plural: str
    api_version: str
    kind: str
    short_names: tuple[str, ...] = ()
    scale: bool = False  # has the autoscaling/v1 ``scale`` subresource
    status: bool = False  # has the ``status`` subresource (and a generation)
    categories: tuple[str, ...] = ()

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]


SERVED = (
    Served(plural="pods", api_version="v1", kind="Pod", short_names=("po",), status=False,
           categories=("all",)),
    Served(plural="events", api_version="v1", kind="Event", short_names=("ev",)),
    Served(plural="deployments", api_version="apps/v1", kind="Deployment",
           short_names=("deploy",), scale=True, status=True, categories=("all",)),
    Served(plural="statefulsets", api_version="apps/v1", kind="StatefulSet",
           short_names=("sts",), scale=True, status=True, categories=("all",)),
    Served(plural="replicasets", api_version="apps/v1", kind="ReplicaSet",
           short_names=("rs",), scale=True, status=True, categories=("all",)),
    Served(plural="horizontalpodautoscalers", api_version="autoscaling/v2",
           kind="HorizontalPodAutoscaler", short_names=("hpa",), status=True,
           categories=("all",)),
    Served(plural="leases", api_version="coordination.k8s.io/v1", kind="Lease"),
)
BY_PLURAL = {s.plural: s for s in SERVED}


def version() -> dict[str, Any]:
    """``/version``."""
    major, minor = KUBE_VERSION.split(".")
    return {
        "major": major,
        "minor": minor,
        "gitVersion": f"v{KUBE_VERSION}.0-fakekube",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2024-01-01T00:00:00Z",
        "goVersion": "go1.23.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


def core_versions() -> dict[str, Any]:
    """``/api``: the legacy core group's versions."""
    return {
        "kind": "APIVersions",
        "apiVersion": "v1",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": ""}],
    }


def group_list() -> dict[str, Any]:
    """``/apis``: every named group and its versions."""
    versions: dict[str, list[str]] = {}
    for s in SERVED:
        if s.group:
            group_versions = versions.setdefault(s.group, [])
            if s.api_version not in group_versions:
                group_versions.append(s.api_version)
    groups = []
    for group, gvs in versions.items():
        entries = [{"groupVersion": gv, "version": gv.rpartition("/")[2]} for gv in gvs]
        groups.append({"name": group, "versions": entries, "preferredVersion": entries[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def group(name: str) -> dict[str, Any] | None:
    """``/apis/<group>``, or None for a group this server does not serve."""
    found = next((g for g in group_list()["groups"] if g["name"] == name), None)
    return None if found is None else {"kind": "APIGroup", "apiVersion": "v1", **found}


def resource_list(api_version: str) -> dict[str, Any] | None:
    """``/api/v1`` or ``/apis/<group>/<version>``, or None when not served."""
    served = [s for s in SERVED if s.api_version == api_version]
    if not served:
        return None
    resources: list[dict[str, Any]] = []
    for s in served:
        resources.append({
            "name": s.plural,
            "singularName": s.kind.lower(),
            "namespaced": True,
            "kind": s.kind,
            "verbs": VERBS,
            **({"shortNames": list(s.short_names)} if s.short_names else {}),
            **({"categories": list(s.categories)} if s.categories else {}),
        })
        if s.status:
            resources.append({"name": f"{s.plural}/status", "singularName": "",
                              "namespaced": True, "kind": s.kind,
                              "verbs": ["get", "patch", "update"]})
        if s.scale:
            resources.append({"name": f"{s.plural}/scale", "singularName": "",
                              "namespaced": True, "group": "autoscaling", "version": "v1",
                              "kind": "Scale", "verbs": ["get", "patch", "update"]})
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": api_version,
            "resources": resources}


def _gv_path(api_version: str) -> str:
    return f"api/{api_version}" if "/" not in api_version else f"apis/{api_version}"


def openapi_v3_root() -> dict[str, Any]:
    """``/openapi/v3``: where each group version's OpenAPI v3 document lives."""
    gvs = sorted({s.api_version for s in SERVED})
    return {"paths": {_gv_path(gv): {
        "serverRelativeURL": f"/openapi/v3/{_gv_path(gv)}?hash={KUBE_VERSION.replace('.', '')}"
    } for gv in gvs}}


def openapi_v3(gv_path: str) -> dict[str, Any] | None:
    """``/openapi/v3/apis/<group>/<version>``: the operations of the served resources.

    Enough for clients to see which query parameters the server honours (``kubectl``
    checks that a PATCH accepts ``fieldValidation`` before it leaves validation to the
    server); the object schemas themselves are those of :mod:`tests.fakekube.schemas`.
    """
    served = [s for s in SERVED if _gv_path(s.api_version) == gv_path.strip("/")]
    if not served:
        return None
    params = [{"name": n, "in": "query", "schema": {"type": "string"}}
              for n in ("dryRun", "fieldManager", "fieldValidation", "pretty")]
    paths: dict[str, Any] = {}
    for s in served:
        group, _, ver = s.api_version.rpartition("/")
        gvk = {"group": group, "version": ver, "kind": s.kind}
        ok = {"200": {"description": "OK"}}
        base = f"/{_gv_path(s.api_version)}/namespaces/{{namespace}}/{s.plural}"
        paths[base] = {
            "get": {"x-kubernetes-group-version-kind": gvk, "responses": ok},
            "post": {"x-kubernetes-group-version-kind": gvk, "parameters": params,
                     "responses": ok},
        }
        paths[f"{base}/{{name}}"] = {
            op: {"x-kubernetes-group-version-kind": gvk, "parameters": params, "responses": ok}
            for op in ("get", "put", "patch", "delete")
        }
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": f"v{KUBE_VERSION}"},
            "paths": paths}
