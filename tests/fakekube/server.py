"""A stateful fake Kubernetes API server over real HTTP, for the real client and real kubectl.

It keeps objects with ``resourceVersion``, ``uid`` and ``generation``; answers 409 on a
stale ``resourceVersion`` or an existing name; serves discovery (:mod:`discovery`), the
``scale`` and ``status`` subresources, ``Table`` output for ``kubectl get``
(:mod:`tables`), label and field selectors, and ``watch`` streams; applies JSON, merge
and strategic-merge patches (merge keys from the OpenAPI schemas, :mod:`strategic`);
validates every write against the schemas (422 with a ``Status`` naming each field;
unknown fields rejected, dropped with a warning, or dropped, per ``fieldValidation``),
then defaults it (:mod:`defaults`) as the API server does before storing; honours
``dryRun=All``; runs :class:`Controller` after every write; can inject faults (the next
N matching requests answer 409/429/500, are slow, or fail *after* committing, like a lost
response); and logs every request for assertions.
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
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakekube import discovery, tables
from tests.fakekube.controller import Controller
from tests.fakekube.defaults import default, prune_nulls
from tests.fakekube.patching import PatchError, json_patch, merge_patch
from tests.fakekube.schemas import Cause, schemas
from tests.fakekube.selectors import SelectorError, matches_fields, matches_labels
from tests.fakekube.strategic import StrategicPatchError, strategic_merge

KINDS: dict[str, tuple[str, str]] = {s.plural: (s.api_version, s.kind) for s in discovery.SERVED}
GENERATIONAL = {s.plural for s in discovery.SERVED if s.status}
WITH_STATUS = GENERATIONAL
_PATH = re.compile(
    r"^/(?:api/(?P<core>v1)|apis/(?P<group>[^/]+)/(?P<version>[^/]+))"
    r"(?:/namespaces/(?P<ns>[^/]+))?/(?P<res>[^/]+)(?:/(?P<name>[^/]+))?(?:/(?P<sub>[^/]+))?$"
)
WATCH_POLL = 0.05


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

    def __init__(
        self, code: int, reason: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details


def _status(
    code: int, reason: str, message: str, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure" if code >= 400 else "Success",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details is not None:
        out["details"] = details
    return out


def _invalid(res: str, name: str, causes: list[Cause]) -> ApiError:
    """422 Invalid, worded like the API server: ``Deployment.apps "web" is invalid: ...``."""
    served = discovery.BY_PLURAL[res]
    qualified = f"{served.kind}.{served.group}" if served.group else served.kind
    parts = [f"{c.field}: {c.message}" for c in causes]
    listed = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    details = {
        "name": name,
        "group": served.group,
        "kind": served.kind,
        "causes": [{"reason": c.reason, "message": c.message, "field": c.field} for c in causes],
    }
    return ApiError(422, "Invalid", f'{qualified} "{name}" is invalid: {listed}', details)


def _warning(text: str) -> str:
    """One ``Warning`` header value (RFC 7234 code 299, the text as a quoted string)."""
    quoted = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'299 - "{quoted}"'


def _drop(obj: dict[str, Any], path: tuple[str | int, ...]) -> None:
    node: Any = obj
    for part in path[:-1]:
        node = node[part]
    node.pop(path[-1], None)


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Equal apart from the resourceVersion (a write that changes nothing)."""
    def strip(o: dict[str, Any]) -> dict[str, Any]:
        meta = {k: v for k, v in o.get("metadata", {}).items() if k != "resourceVersion"}
        return {**o, "metadata": meta}

    return strip(a) == strip(b)


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

    def list(self, resource: str, namespace: str | None) -> list[dict[str, Any]]:
        """Objects of ``resource`` in ``namespace`` (every namespace when None)."""
        return [
            copy.deepcopy(o)
            for (r, ns, _), o in sorted(self.objects.items())
            if r == resource and (namespace is None or ns == namespace)
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
        key = (resource, meta["namespace"], meta["name"])
        stored = self.objects.get(key)
        if stored is not None and _same(stored, obj):
            return copy.deepcopy(stored)  # nothing changed: no new resourceVersion
        self.version += 1
        meta["resourceVersion"] = str(self.version)
        self.objects[key] = copy.deepcopy(obj)
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
        self._closing = False
        self._warnings: list[str] = []
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
        self._closing = True  # ends open watch streams
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
            ns = obj["metadata"].get("namespace", "default")
            return self._create(resource, ns, obj, dry=False, validation="Strict")

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
            return self._write(resource, meta["namespace"], meta["name"], obj, dry=False)

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
        query = dict(request.query_params)
        ctype = request.headers.get("content-type", "").split(";")[0]
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError as e:
            self._log(method, path, query, ctype, None, 400)
            return JSONResponse(_status(400, "BadRequest", f"invalid JSON: {e}"), 400)
        for hook in self.before_request:
            hook()
        if method == "GET" and query.get("watch") in ("1", "true"):
            self._log(method, path, query, ctype, body, 200)
            return self._watch(path, query)
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
                    self._warnings = []
                    self.controller.tick()
                    code, payload = self._route(method, path, query, ctype, body)
                    if code == 200 and tables.wants_table(request.headers.get("accept", "")):
                        payload = self._table(payload)
                    warnings = list(self._warnings)
                headers = {"Warning": ", ".join(_warning(w) for w in warnings)}
                response = JSONResponse(payload, status_code=code,
                                        headers=headers if warnings else None)
            except ApiError as e:
                response = JSONResponse(
                    _status(e.code, e.reason, e.message, e.details), status_code=e.code
                )
            if fault is not None and fault.status:
                response = self._fault_response(fault)
        self._log(method, path, query, ctype, body, response.status_code)
        return response

    def _log(
        self, method: str, path: str, query: dict[str, str], ctype: str, body: Any, status: int
    ) -> None:
        self.log.append(
            LoggedRequest(
                method=method, path=path, query=query, content_type=ctype, body=body,
                status=status,
            )
        )

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

    def _route(
        self, method: str, path: str, query: dict[str, str], ctype: str, body: Any
    ) -> tuple[int, Any]:
        found = self._discovery(path) if method == "GET" else None
        if found is not None:
            return 200, found
        return self._dispatch(method, path, query, ctype, body)

    @staticmethod
    def _discovery(path: str) -> dict[str, Any] | None:
        path = path.rstrip("/")
        if path == "/version":
            return discovery.version()
        if path == "/api":
            return discovery.core_versions()
        if path == "/apis":
            return discovery.group_list()
        if path == "/api/v1":
            return discovery.resource_list("v1")
        if path == "/openapi/v3":
            return discovery.openapi_v3_root()
        if path.startswith("/openapi/v3/"):
            return discovery.openapi_v3(path[len("/openapi/v3/"):])
        parts = path.split("/")
        if len(parts) == 3 and parts[1] == "apis":
            return discovery.group(parts[2])
        if len(parts) == 4 and parts[1] == "apis":
            return discovery.resource_list(f"{parts[2]}/{parts[3]}")
        return None

    def _table(self, payload: Any) -> Any:
        kind = str(payload.get("kind", ""))
        if kind.endswith("List") and "items" in payload:
            objs, kind = list(payload["items"]), kind[: -len("List")]
        elif kind in {s.kind for s in discovery.SERVED}:
            objs = [payload]
        else:
            return payload
        rv = str(payload.get("metadata", {}).get("resourceVersion", self.store.version))
        return tables.table(kind, objs, now=self.store.clock(), resource_version=rv)

    def _parse(self, path: str) -> tuple[str, str | None, str | None, str | None]:
        m = _PATH.match(path)
        api_version = (m["core"] or f"{m['group']}/{m['version']}") if m else ""
        if m is None or m["res"] not in KINDS or KINDS[m["res"]][0] != api_version:
            raise ApiError(
                404, "NotFound", f"the server could not find the requested resource ({path})"
            )
        if m["ns"] is None and m["name"] is not None:
            raise ApiError(404, "NotFound", f"{m['res']} are namespaced ({path})")
        return m["res"], m["ns"], m["name"], m["sub"]

    def _matching(self, res: str, ns: str | None, query: dict[str, str]) -> list[dict[str, Any]]:
        try:
            return [
                o
                for o in self.store.list(res, ns)
                if matches_labels(o["metadata"].get("labels") or {},
                                  query.get("labelSelector", ""))
                and matches_fields(o, query.get("fieldSelector", ""))
            ]
        except SelectorError as e:
            raise ApiError(400, "BadRequest", str(e)) from None

    def _dispatch(
        self, method: str, path: str, query: dict[str, str], ctype: str, body: Any
    ) -> tuple[int, Any]:
        res, ns, name, sub = self._parse(path)
        dry = query.get("dryRun") == "All"
        validation = query.get("fieldValidation", "Warn")
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
                api_version, kind = KINDS[res]
                return 200, {
                    "apiVersion": api_version,
                    "kind": f"{kind}List",
                    "metadata": {"resourceVersion": str(self.store.version)},
                    "items": self._matching(res, ns, query),
                }
            if method == "POST" and ns is not None:
                if not isinstance(body, dict):
                    raise ApiError(400, "BadRequest", "the body must be a JSON object")
                return 201, self._create(res, ns, body, dry=dry, validation=validation)
            raise ApiError(405, "MethodNotAllowed", f"{method} is not allowed on {path}")
        assert ns is not None
        current = self.store.get(res, ns, name)
        if current is None:
            raise ApiError(404, "NotFound", f'{res} "{name}" not found')
        if sub == "scale" and discovery.BY_PLURAL[res].scale:
            return self._scale(method, res, ns, name, current, ctype, body, dry)
        if sub not in (None, "status") or (sub == "status" and res not in WITH_STATUS):
            raise ApiError(404, "NotFound", f"no subresource {sub} on {res}")
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
            merged["metadata"]["resourceVersion"] = new.get("metadata", {}).get("resourceVersion")
            new = merged
        return 200, self._write(
            res, ns, name, new, dry=dry, status_write=sub == "status", validation=validation
        )

    def _patched(
        self, current: dict[str, Any], method: str, ctype: str, body: Any
    ) -> dict[str, Any]:
        if method == "PUT":
            if not isinstance(body, dict):
                raise ApiError(400, "BadRequest", "the body must be a JSON object")
            return dict(body)
        try:
            if ctype == "application/json-patch+json":
                if not isinstance(body, list):
                    raise ApiError(400, "BadRequest", "a JSON patch must be a list of operations")
                out = json_patch(current, body)
            elif ctype == "application/merge-patch+json":
                out = merge_patch(current, body)
            elif ctype == "application/strategic-merge-patch+json":
                kind_schema = schemas().kind(current["apiVersion"], current["kind"])
                out = strategic_merge(current, body, kind_schema)
            else:
                raise ApiError(415, "UnsupportedMediaType", f"unsupported patch type {ctype}")
        except (PatchError, StrategicPatchError, KeyError, IndexError, ValueError, TypeError) as e:
            raise ApiError(422, "Invalid", f"patch failed: {e}") from e
        if not isinstance(out, dict):
            raise ApiError(422, "Invalid", "the patched object is not a JSON object")
        return out

    def _admit(
        self, res: str, obj: dict[str, Any], validation: str, *, status_write: bool = False
    ) -> dict[str, Any]:
        """Validate against the schema, then default: what the API server stores.

        The status of a resource with a status subresource is the server's own copy except
        in a status write, so only then is it validated.
        """
        obj = prune_nulls(obj)
        obj["apiVersion"], obj["kind"] = KINDS[res]
        name = str(obj.get("metadata", {}).get("name", ""))
        checked = obj
        if res in WITH_STATUS and not status_write:
            checked = {k: v for k, v in obj.items() if k != "status"}
        causes = schemas().validate(checked)
        unknown = [c for c in causes if c.unknown is not None]
        if unknown and validation == "Strict":
            raise ApiError(400, "BadRequest", "strict decoding error: "
                           + ", ".join(c.message for c in unknown))
        for c in unknown:
            assert c.unknown is not None
            _drop(obj, c.unknown)
            if validation != "Ignore":
                self._warnings.append(c.message)
        invalid = [c for c in causes if c.unknown is None] + _semantic(obj)
        if invalid:
            raise _invalid(res, name, invalid)
        return default(obj)

    def _create(
        self, res: str, ns: str, body: dict[str, Any], *, dry: bool, validation: str = "Warn"
    ) -> dict[str, Any]:
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise ApiError(400, "BadRequest", "metadata must be an object")
        meta["namespace"] = ns
        if not meta.get("name"):
            if not meta.get("generateName"):
                raise _invalid(res, "", [Cause(reason="FieldValueRequired",
                                               field="metadata.name", message="Required value")])
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        if self.store.get(res, ns, meta["name"]) is not None:
            raise ApiError(409, "AlreadyExists", f'{res} "{meta["name"]}" already exists')
        meta.pop("resourceVersion", None)
        if res in GENERATIONAL:
            meta["generation"] = 1
        obj = self._admit(res, obj, validation)
        if dry:
            obj["metadata"].setdefault("uid", str(uuid.uuid4()))
            return obj
        saved = self.store.save(res, obj)
        self.controller.reconcile(res, ns, saved["metadata"]["name"])
        final = self.store.get(res, ns, saved["metadata"]["name"]) or saved
        self._written(res, None, final)
        return final

    def _write(
        self,
        res: str,
        ns: str,
        name: str,
        new: dict[str, Any],
        *,
        dry: bool,
        status_write: bool = False,
        validation: str = "Warn",
    ) -> dict[str, Any]:
        current = self.store.get(res, ns, name)
        assert current is not None
        meta = new.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise ApiError(400, "BadRequest", "metadata must be an object")
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
        new = self._admit(res, new, validation, status_write=status_write)
        if res in WITH_STATUS and not status_write and new.get("spec") != current.get("spec"):
            new["metadata"]["generation"] = int(current["metadata"].get("generation", 1)) + 1
        if dry:
            new["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
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
        if method not in ("PUT", "PATCH"):
            raise ApiError(405, "MethodNotAllowed", f"{method} is not allowed on scale")
        new_scale = prune_nulls(self._patched(scale, method, ctype, body))
        new_scale["apiVersion"], new_scale["kind"] = "autoscaling/v1", "Scale"
        causes = [c for c in schemas().validate(new_scale) if c.unknown is None]
        replicas = new_scale.get("spec", {}).get("replicas", 0)
        if not causes and replicas < 0:
            causes = [Cause(reason="FieldValueInvalid", field="spec.replicas",
                            message=f"Invalid value: {replicas}: must be greater than or "
                            "equal to 0")]
        if causes:
            raise _invalid(res, name, causes)
        workload = copy.deepcopy(current)
        workload["spec"]["replicas"] = replicas
        workload["metadata"]["resourceVersion"] = new_scale["metadata"].get("resourceVersion")
        written = self._write(res, ns, name, workload, dry=dry)
        scale["spec"]["replicas"] = replicas
        scale["metadata"]["resourceVersion"] = written["metadata"]["resourceVersion"]
        return 200, scale

    def _reconcile_owners(self, obj: dict[str, Any]) -> None:
        ns = obj["metadata"]["namespace"]
        for ref in obj["metadata"].get("ownerReferences", []):
            res = {"ReplicaSet": "replicasets", "StatefulSet": "statefulsets"}.get(ref["kind"])
            if res:
                self.controller.reconcile(res, ns, ref["name"])

    # ---- watch -----------------------------------------------------------------
    def _watch(self, path: str, query: dict[str, str]) -> Response:
        try:
            with self.store.lock:
                res, ns, name, _sub = self._parse(path)
                if name is not None:
                    raise ApiError(405, "MethodNotAllowed", "watch a collection with a selector")
                self._matching(res, ns, query)  # reject a bad selector before streaming
        except ApiError as e:
            return JSONResponse(_status(e.code, e.reason, e.message), status_code=e.code)
        limit = min(float(query.get("timeoutSeconds") or 1800), 1800.0)
        return StreamingResponse(self._events(res, ns, query, limit),
                                 media_type="application/json")

    async def _events(
        self, res: str, ns: str | None, query: dict[str, str], limit: float
    ) -> AsyncIterator[bytes]:
        """Watch events (one JSON object per line) until the timeout or server stop."""
        deadline = time.monotonic() + limit
        since = int(query["resourceVersion"]) if query.get("resourceVersion", "0") != "0" else 0
        seen: dict[tuple[str, str], dict[str, Any]] = {}
        if since:
            with self.store.lock:
                for o in self._matching(res, ns, query):
                    if int(o["metadata"]["resourceVersion"]) <= since:
                        seen[(o["metadata"]["namespace"], o["metadata"]["name"])] = o
        while not self._closing:
            with self.store.lock:
                self.controller.tick()
                now = {(o["metadata"]["namespace"], o["metadata"]["name"]): o
                       for o in self._matching(res, ns, query)}
            lines = []
            for key, obj in now.items():
                old = seen.get(key)
                if old is None or old["metadata"]["resourceVersion"] != obj["metadata"][
                    "resourceVersion"
                ]:
                    lines.append({"type": "ADDED" if old is None else "MODIFIED", "object": obj})
            lines += [{"type": "DELETED", "object": o} for k, o in seen.items() if k not in now]
            seen = now
            for line in lines:
                yield (json.dumps(line) + "\n").encode()
            if time.monotonic() >= deadline:
                return
            await asyncio.sleep(WATCH_POLL)


def _semantic(obj: dict[str, Any]) -> list[Cause]:
    """The API server's own checks beyond the schema, for the fields tests exercise."""
    causes: list[Cause] = []
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return causes
    replicas = spec.get("replicas")
    if isinstance(replicas, int) and replicas < 0 and obj.get("kind") != "HorizontalPodAutoscaler":
        causes.append(Cause(reason="FieldValueInvalid", field="spec.replicas",
                            message=f"Invalid value: {replicas}: must be greater than or "
                            "equal to 0"))
    selector = (spec.get("selector") or {}).get("matchLabels")
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if isinstance(selector, dict) and "template" in spec and any(
        labels.get(k) != v for k, v in selector.items()
    ):
        causes.append(Cause(reason="FieldValueInvalid", field="spec.template.metadata.labels",
                            message=f"Invalid value: {json.dumps(labels)}: `selector` does not "
                            "match template `labels`"))
    return causes


def running() -> Iterator[FakeKube]:
    """Start a server, yield it, stop it: the body of the pytest fixture."""
    server = FakeKube().start()
    try:
        yield server
    finally:
        server.stop()
