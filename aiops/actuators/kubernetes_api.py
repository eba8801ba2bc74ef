"""One door to the Kubernetes API: client setup, error sorting, retries, RBAC bookkeeping.

Every call names the RBAC verb, API group and resource it needs (:data:`RBAC_RULES` lists
them all, and ``deploy/kubernetes`` grants exactly those), so a 403 or 404 becomes a
:class:`PermanentError` that says which permission or object is missing. 409, 429, 5xx,
timeouts and connection failures become :class:`TemporaryError` with a ``retry_after``
that honours the server's ``Retry-After`` header. Objects travel as plain JSON dicts,
exactly as the API server sends them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from aiops.config.actuators import KubernetesConfig
from aiops.errors import PermanentError, TemporaryError

# (apiGroup, resource) -> verbs this package uses; the manifests grant exactly these.
RBAC_RULES: dict[tuple[str, str], frozenset[str]] = {
    ("apps", "deployments"): frozenset({"get", "patch"}),
    ("apps", "statefulsets"): frozenset({"get", "patch"}),
    ("apps", "replicasets"): frozenset({"list"}),
    ("autoscaling", "horizontalpodautoscalers"): frozenset({"list", "patch"}),
    ("", "pods"): frozenset({"list", "delete"}),
    ("", "events"): frozenset({"create"}),
}
# Verbs on the leader-election Lease, granted by a Role in the daemon's own namespace.
LEASE_RULES: dict[tuple[str, str], frozenset[str]] = {
    ("coordination.k8s.io", "leases"): frozenset({"get", "create", "patch"}),
}

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"


@dataclass(frozen=True, kw_only=True, slots=True)
class Call:
    """What a request needs: the RBAC verb on a resource in an API group and namespace."""

    verb: str
    group: str
    resource: str
    namespace: str
    name: str = ""

    def __post_init__(self) -> None:
        rules = RBAC_RULES | LEASE_RULES
        if self.verb not in rules.get((self.group, self.resource), frozenset()):
            raise AssertionError(f"{self.verb} {self.resource} is not in RBAC_RULES")

    def describe(self) -> str:
        group = self.group or "core"
        return f"verb {self.verb!r} on {self.resource!r} (apiGroup {group!r}) in namespace " + (
            f"{self.namespace!r}"
        )


def retry_after_of(err: ApiException, default: float) -> float:
    """Seconds from a ``Retry-After`` header (delta-seconds form), else ``default``."""
    headers = getattr(err, "headers", None) or {}
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        return max(0.0, float(value)) if value is not None else default
    except ValueError:
        return default


def sort_error(err: Exception, call: Call, *, default_retry: float) -> Exception:
    """Map a client failure to TemporaryError or PermanentError, naming what was missing."""
    what = f"{call.resource}/{call.name}" if call.name else call.resource
    if isinstance(err, ApiException):
        status = int(err.status or 0)
        reason = _reason(err)
        if status == 403:
            return PermanentError(f"forbidden: aiops needs RBAC {call.describe()} ({reason})")
        if status == 404:
            return PermanentError(
                f"not found: {what} in namespace {call.namespace!r} ({call.verb}; {reason})"
            )
        if status == 409:
            return TemporaryError(f"conflict on {what}: {reason}", retry_after=0.0)
        if status == 429 or status >= 500 or status == 0:
            return TemporaryError(
                f"{call.verb} {what}: HTTP {status} {reason}",
                retry_after=retry_after_of(err, default_retry),
            )
        return PermanentError(f"{call.verb} {what} rejected: HTTP {status} {reason}")
    if isinstance(err, urllib3.exceptions.HTTPError | OSError):
        return TemporaryError(f"{call.verb} {what}: {err}", retry_after=default_retry)
    return err


def _reason(err: ApiException) -> str:
    try:
        body = json.loads(err.body or "{}")
        return str(body.get("message") or err.reason)
    except (ValueError, TypeError):
        return str(err.reason)


class KubeApi:
    """Typed client APIs plus :meth:`do`, which runs one request and sorts its failure."""

    def __init__(self, cfg: KubernetesConfig) -> None:
        self.cfg = cfg
        configuration = client.Configuration()
        if cfg.in_cluster:
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        elif cfg.host is not None:
            configuration.host = cfg.host
        else:
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=cfg.kubeconfig, context=cfg.context, client_configuration=configuration
            )
        # Retries are ours (they re-read and check idempotency); urllib3 must not retry.
        configuration.retries = False
        api_client = client.ApiClient(configuration)
        self.client = api_client
        self.apps = client.AppsV1Api(api_client)
        self.core = client.CoreV1Api(api_client)
        self.autoscaling = client.AutoscalingV2Api(api_client)
        self.coordination = client.CoordinationV1Api(api_client)

    def do(self, call: Call, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Run one request; return the JSON body as a dict or raise a sorted AiopsError."""
        try:
            resp = fn(
                *args,
                _preload_content=False,
                _request_timeout=self.cfg.request_timeout,
                **kwargs,
            )
        except (ApiException, urllib3.exceptions.HTTPError, OSError) as e:
            raise sort_error(e, call, default_retry=self.cfg.backoff) from e
        data = resp.data
        return dict(json.loads(data)) if data else {}

    def close(self) -> None:
        self.client.close()  # type: ignore[no-untyped-call]
