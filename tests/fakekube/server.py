"""A stateful fake Kubernetes API server over real HTTP, for the real ``kubernetes`` client.

It keeps objects with ``resourceVersion``, ``uid`` and ``generation``; answers 409 on a
stale ``resourceVersion`` or an existing name; serves the ``scale`` subresource of
Deployments and StatefulSets; applies JSON, merge and strategic-merge patches; honours
``dryRun=All`` (validate, answer, persist nothing); runs :class:`Controller` after every
write; can inject faults (the next N matching requests answer 409/429/500, are slow, or
fail *after* committing, like a lost response); and logs every request for assertions.

Resources: apps/v1 deployments, statefulsets, replicasets; autoscaling/v2
horizontalpodautoscalers; v1 pods, events; coordination.k8s.io/v1 leases.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakekube.controller import Controller
from tests.fakekube.patching import PatchError, json_patch, merge_patch, strategic_merge_patch

KINDS: dict[str, tuple[str, str]] = {
    "deployments": ("apps/v1", "Deployment"),
    "statefulsets": ("apps/v1", "StatefulSet"),
    "replicasets": ("apps/v1", "ReplicaSet"),
    "horizontalpodautoscalers": ("autoscaling/v2", "HorizontalPodAutoscaler"),
    "pods": ("v1", "Pod"),
    "events": ("v1", "Event"),
    "leases": ("coordination.k8s.io/v1", "Lease"),
}
GENERATIONAL = {"deployments", "statefulsets", "replicasets", "horizontalpodautoscalers"}
WITH_STATUS = GENERATIONAL
_PATH = re.compile(
    r"^/(?:api/v1|apis/(?P<group>[^/]+)/(?P<version>[^/]+))"
    r"/namespaces/(?P<ns>[^/]+)/(?P<res>[^/]+)(?:/(?P<name>[^/]+))?(?:/(?P<sub>[^/]+))?$"
)


@dataclass(kw_only=True)
class Fault:
    """The next ``count`` requests matching ``method`` and ``path`` (regex) misbehave."""

    path: str
    method: str = ".*"
    status: int = 0
    count: int = 1
    retry_after: str | None = None
    delay: float = 0.0
    after_commit: bool = False

    def matches(self, method: str, path: str) -> bool:
        return (
            self.count > 0
            and bool(re.fullmatch(self.method, method, re.I))
            and bool(re.search(self.path, path))
        )


@dataclass(frozen=True, kw_only=True)
class LoggedRequest:
    """One request as the server saw it, and the status it answered."""

    method: str
    path: str
    query: dict[str, str]
    content_type: str
    body: Any
    status: int


class ApiError(Exception):
    """An API failure rendered as a ``Status`` object."""

    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure" if code >= 400 else "Success",
        "message": message,
        "reason": reason,
        "code": code,
    }


def _match_selector(labels: dict[str, str], selector: str) -> bool:
    for part in filter(None, selector.split(",")):
        if "!=" in part:
            k, v = part.split("!=", 1)
            if labels.get(k) == v:
                return False
        elif "=" in part:
            k, v = part.replace("==", "=").split("=", 1)
            if labels.get(k) != v:
                return False
        elif part not in labels:
            return False
    return True


@dataclass
class Store:
    """Objects by (resource, namespace, name), with a global resourceVersion counter."""

    objects: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    version: int = 100
    lock: threading.RLock = field(default_factory=threading.RLock)
    clock: Callable[[], float] = time.time

    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        obj = self.objects.get((resource, namespace, name))
        return copy.deepcopy(obj) if obj is not None else None

    def list(self, resource: str, namespace: str) -> list[dict[str, Any]]:
        return [
            copy.deepcopy(o)
            for (r, ns, _), o in sorted(self.objects.items())
            if r == resource and ns == namespace
        ]

    def save(self, resource: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Store as is, stamping identity, kind and a fresh resourceVersion."""
        meta = obj.setdefault("metadata", {})
        api_version, kind = KINDS[resource]
        obj["apiVersion"], obj["kind"] = api_version, kind
        meta.setdefault("uid", str(uuid.uuid4()))
        stamp = datetime.fromtimestamp(self.clock(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        meta.setdefault("creationTimestamp", stamp)
        if resource in GENERATIONAL:
            meta.setdefault("generation", 1)
        self.version += 1
        meta["resourceVersion"] = str(self.version)
        self.objects[(resource, meta["namespace"], meta["name"])] = copy.deepcopy(obj)
        return copy.deepcopy(obj)

    def remove(self, resource: str, namespace: str, name: str) -> None:
        self.objects.pop((resource, namespace, name), None)


class FakeKube:
    """The fake API server: ``start()`` serves on 127.0.0.1 at a free port, ``url`` is its base."""

    def __init__(self) -> None:
        self.store = Store()
        self.controller = Controller(self.store)
        self.faults: list[Fault] = []
        self.log: list[LoggedRequest] = []
        self.denied: set[tuple[str, str]] = set()
        # Hooks for harnesses that mirror the fake cluster elsewhere (see sandbox_bridge):
        # before_request() runs before each HTTP request; after_write(resource, before,
        # after) after each committed HTTP write (after is None for a delete).
        self.before_request: list[Callable[[], None]] = []
        self.after_write: list[
            Callable[[str, dict[str, Any] | None, dict[str, Any] | None], None]
        ] = []
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""
        routes = [
            Route("/{path:path}", self._handle, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
        ]
        self.app = Starlette(routes=routes)

    # ---- test-facing helpers -------------------------------------------------
    def start(self) -> FakeKube:
        """Serve in a background thread; returns once the port accepts connections."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit it: uvicorn serving a socket it was handed does not
        # set TCP_NODELAY, and every keep-alive answer waited ~40 ms for a delayed ACK.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("fake Kubernetes API server did not start")
            time.sleep(0.01)
        self.url = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)

    def inject(self, fault: Fault) -> Fault:
        """Arm a fault; it disarms itself after ``fault.count`` matching requests."""
        self.faults.append(fault)
        return fault

    def deny(self, verb: str, resource: str) -> None:
        """Answer 403 to ``verb`` on ``resource`` (e.g. ``patch``, ``deployments/scale``)."""
        self.denied.add((verb, resource))

    def create(self, resource: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Create an object directly (no HTTP), running controllers, as a fixture would."""
        with self.store.lock:
            saved = self._create(resource, obj["metadata"].get("namespace", "default"), obj, False)
            return saved

    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any]:
        with self.store.lock:
            self.controller.tick()
            obj = self.store.get(resource, namespace, name)
            assert obj is not None, f"{resource}/{namespace}/{name} not found"
            return obj

    def list(self, resource: str, namespace: str) -> list[dict[str, Any]]:
        with self.store.lock:
            self.controller.tick()
            return self.store.list(resource, namespace)

    def update(self, resource: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Replace an object directly, as a human ``kubectl apply`` would (bumps generation)."""
        with self.store.lock:
            meta = obj["metadata"]
            return self._write(resource, meta["namespace"], meta["name"], obj, False)

    def writes(self, pattern: str = "") -> list[LoggedRequest]:
        """Logged requests that could change state, whose path matches ``pattern``."""
        return [
            r
            for r in self.log
            if r.method in ("POST", "PUT", "PATCH", "DELETE") and re.search(pattern, r.path)
        ]

    # ---- HTTP ------------------------------------------------------------------
    async def _handle(self, request: Request) -> Response:
        path, method = request.url.path, request.method
        raw = await request.body()
        body: Any = json.loads(raw) if raw else None
        query = dict(request.query_params)
        ctype = request.headers.get("content-type", "").split(";")[0]
        for hook in self.before_request:
            hook()
        fault = next((f for f in self.faults if f.matches(method, path)), None)
        if fault is not None:
            fault.count -= 1
            if fault.delay:
                await asyncio.sleep(fault.delay)
        if fault is not None and fault.status and not fault.after_commit:
            response = self._fault_response(fault)
        else:
            try:
                with self.store.lock:
                    self.controller.tick()
                    code, payload = self._dispatch(method, path, query, ctype, body)
                response = JSONResponse(payload, status_code=code)
            except ApiError as e:
                response = JSONResponse(_status(e.code, e.reason, e.message), status_code=e.code)
            if fault is not None and fault.status:
                response = self._fault_response(fault)
        self.log.append(
            LoggedRequest(
                method=method,
                path=path,
                query=query,
                content_type=ctype,
                body=body,
                status=response.status_code,
            )
        )
        return response

    @staticmethod
    def _fault_response(fault: Fault) -> Response:
        reasons = {
            409: "Conflict",
            429: "TooManyRequests",
            500: "InternalError",
            503: "ServiceUnavailable",
        }
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
        payload = _status(fault.status, reasons.get(fault.status, "Unknown"), "injected fault")
        return JSONResponse(payload, status_code=fault.status, headers=headers)

    def _dispatch(
        self, method: str, path: str, query: dict[str, str], ctype: str, body: Any
    ) -> tuple[int, Any]:
        m = _PATH.match(path)
        if m is None or m["res"] not in KINDS:
            raise ApiError(
                404, "NotFound", f"the server could not find the requested resource ({path})"
            )
        ns, res, name, sub = m["ns"], m["res"], m["name"], m["sub"]
        dry = query.get("dryRun") == "All"
        verb = {
            "GET": "get" if name else "list",
            "POST": "create",
            "PUT": "update",
            "PATCH": "patch",
            "DELETE": "delete",
        }[method]
        resource = f"{res}/{sub}" if sub else res
        if (verb, resource) in self.denied:
            raise ApiError(
                403,
                "Forbidden",
                f'{res} "{name}" is forbidden: cannot {verb} resource "{resource}"',
            )
        if name is None:
            if method == "GET":
                items = [
                    o
                    for o in self.store.list(res, ns)
                    if _match_selector(
                        o["metadata"].get("labels", {}), query.get("labelSelector", "")
                    )
                ]
                api_version, kind = KINDS[res]
                return 200, {
                    "apiVersion": api_version,
                    "kind": f"{kind}List",
                    "metadata": {"resourceVersion": str(self.store.version)},
                    "items": items,
                }
            if method == "POST":
                return 201, self._create(res, ns, body, dry)
            raise ApiError(405, "MethodNotAllowed", method)
        current = self.store.get(res, ns, name)
        if current is None:
            raise ApiError(404, "NotFound", f'{res} "{name}" not found')
        if sub == "scale":
            return self._scale(method, res, ns, name, current, ctype, body, dry)
        if sub not in (None, "status"):
            raise ApiError(404, "NotFound", f"no subresource {sub}")
        if method == "GET":
            return 200, current
        if method == "DELETE":
            if not dry:
                self.store.remove(res, ns, name)
                self._reconcile_owners(current)
                self._written(res, current, None)
            return 200, current
        new = self._patched(current, method, ctype, body)
        if sub == "status":
            merged = copy.deepcopy(current)
            merged["status"] = new.get("status", {})
            merged["metadata"]["resourceVersion"] = new["metadata"].get("resourceVersion")
            new = merged
        return 200, self._write(res, ns, name, new, dry, status_write=sub == "status")

    def _patched(
        self, current: dict[str, Any], method: str, ctype: str, body: Any
    ) -> dict[str, Any]:
        if method == "PUT":
            return dict(body)
        try:
            if ctype == "application/json-patch+json":
                return dict(json_patch(current, body))
            if ctype == "application/merge-patch+json":
                return dict(merge_patch(current, body))
            if ctype == "application/strategic-merge-patch+json":
                return dict(strategic_merge_patch(current, body))
        except (PatchError, KeyError, IndexError, ValueError) as e:
            raise ApiError(422, "Invalid", f"patch failed: {e}") from e
        raise ApiError(415, "UnsupportedMediaType", f"unsupported patch type {ctype}")

    def _create(self, res: str, ns: str, body: dict[str, Any], dry: bool) -> dict[str, Any]:
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        meta["namespace"] = ns
        if not meta.get("name"):
            if not meta.get("generateName"):
                raise ApiError(422, "Invalid", "metadata.name: Required value")
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        if self.store.get(res, ns, meta["name"]) is not None:
            raise ApiError(409, "AlreadyExists", f'{res} "{meta["name"]}" already exists')
        meta.pop("resourceVersion", None)
        if res in GENERATIONAL:
            meta["generation"] = 1
        if dry:
            meta.setdefault("uid", str(uuid.uuid4()))
            return obj
        saved = self.store.save(res, obj)
        self.controller.reconcile(res, ns, meta["name"])
        final = self.store.get(res, ns, meta["name"]) or saved
        self._written(res, None, final)
        return final

    def _write(
        self,
        res: str,
        ns: str,
        name: str,
        new: dict[str, Any],
        dry: bool,
        status_write: bool = False,
    ) -> dict[str, Any]:
        current = self.store.get(res, ns, name)
        assert current is not None
        meta = new.setdefault("metadata", {})
        sent_rv = meta.get("resourceVersion")
        if sent_rv and sent_rv != current["metadata"]["resourceVersion"]:
            raise ApiError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {res} "{name}": the object has been modified; '
                "please apply your changes to the latest version and try again",
            )
        for key in ("uid", "creationTimestamp", "name", "namespace", "generation"):
            if key in current["metadata"]:
                meta[key] = current["metadata"][key]
        if res in WITH_STATUS and not status_write:
            new["status"] = current.get("status", {})
            if new.get("spec") != current.get("spec"):
                meta["generation"] = int(current["metadata"].get("generation", 1)) + 1
        if dry:
            meta["resourceVersion"] = current["metadata"]["resourceVersion"]
            new["apiVersion"], new["kind"] = KINDS[res]
            return new
        self.store.save(res, new)
        self.controller.reconcile(res, ns, name)
        final = self.store.get(res, ns, name) or new
        self._written(res, current, final)
        return final

    def _written(
        self, res: str, before: dict[str, Any] | None, after: dict[str, Any] | None
    ) -> None:
        for hook in self.after_write:
            hook(res, copy.deepcopy(before), copy.deepcopy(after))

    def _scale(
        self,
        method: str,
        res: str,
        ns: str,
        name: str,
        current: dict[str, Any],
        ctype: str,
        body: Any,
        dry: bool,
    ) -> tuple[int, Any]:
        selector = current["spec"].get("selector", {}).get("matchLabels", {})
        scale = {
            "apiVersion": "autoscaling/v1",
            "kind": "Scale",
            "metadata": {
                k: current["metadata"][k]
                for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            },
            "spec": {"replicas": int(current["spec"].get("replicas", 1))},
            "status": {
                "replicas": int(current.get("status", {}).get("replicas", 0)),
                "selector": ",".join(f"{k}={v}" for k, v in sorted(selector.items())),
            },
        }
        if method == "GET":
            return 200, scale
        new_scale = self._patched(scale, method, ctype, body)
        replicas = new_scale.get("spec", {}).get("replicas")
        if not isinstance(replicas, int) or replicas < 0:
            raise ApiError(422, "Invalid", "spec.replicas: must be a non-negative integer")
        workload = copy.deepcopy(current)
        workload["spec"]["replicas"] = replicas
        workload["metadata"]["resourceVersion"] = new_scale["metadata"].get("resourceVersion")
        written = self._write(res, ns, name, workload, dry)
        scale["spec"]["replicas"] = replicas
        scale["metadata"]["resourceVersion"] = written["metadata"]["resourceVersion"]
        return 200, scale

    def _reconcile_owners(self, obj: dict[str, Any]) -> None:
        ns = obj["metadata"]["namespace"]
        for ref in obj["metadata"].get("ownerReferences", []):
            res = {"ReplicaSet": "replicasets", "StatefulSet": "statefulsets"}.get(ref["kind"])
            if res:
                self.controller.reconcile(res, ns, ref["name"])


def running() -> Iterator[FakeKube]:
    """Start a server, yield it, stop it: the body of the pytest fixture."""
    server = FakeKube().start()
    try:
        yield server
    finally:
        server.stop()
