"""The Kubernetes OpenAPI schemas shipped by ``kubernetes-validate``: lookup and validation.

Everything the fake API server knows about the shape of an object comes from here, not
from hand-made tables: the schema of a kind (by its ``x-kubernetes-group-version-kind``),
the schema of any field below it (``$ref`` followed), the strategic-merge metadata of a
list or map (``x-kubernetes-patch-strategy``, ``x-kubernetes-patch-merge-key``), and the
JSON Schema validation of a whole object. The "strict" variant of the schemas is used:
it sets ``additionalProperties: false``, so unknown fields are found (and then rejected
or dropped, as the ``fieldValidation`` query parameter asks).

>>> s = schemas()
>>> containers = s.kind("apps/v1", "Deployment").field("spec").field("template") \\
...     .field("spec").field("containers")
>>> containers.patch_strategy, containers.merge_key
(('merge',), 'name')
>>> containers.items().field("ports").merge_key
'containerPort'
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
from referencing import Registry, Resource

# The server says it is this version (``/version``) and validates with its schemas.
KUBE_VERSION = "1.32"


def _schema_dir() -> Any:
    root = resources.files("kubernetes_validate").joinpath("kubernetes-json-schema")
    wanted = root.joinpath(f"v{KUBE_VERSION}.0-local-strict")
    if not wanted.is_dir():  # a newer kubernetes-validate may have dropped old versions
        strict = sorted(
            (p for p in root.iterdir() if p.name.endswith("-local-strict")),
            key=lambda p: tuple(int(x) for x in p.name[1:].split("-")[0].split(".")),
        )
        wanted = strict[-1]
    return wanted


@dataclass(frozen=True, kw_only=True)
class Node:
    """One place in a schema: the field's own schema (with its patch metadata), resolved."""

    schemas: Schemas
    raw: dict[str, Any]

    @property
    def resolved(self) -> dict[str, Any]:
        """The schema with ``$ref`` followed (the field's extensions stay on :attr:`raw`)."""
        return self.schemas.resolve(self.raw)

    @property
    def patch_strategy(self) -> tuple[str, ...]:
        """``x-kubernetes-patch-strategy`` split on commas (e.g. ``("merge", "retainKeys")``)."""
        raw = str(self.raw.get("x-kubernetes-patch-strategy", ""))
        return tuple(p for p in raw.split(",") if p)

    @property
    def merge_key(self) -> str | None:
        """``x-kubernetes-patch-merge-key`` of a list field, if it has one."""
        key = self.raw.get("x-kubernetes-patch-merge-key")
        return str(key) if key else None

    def field(self, name: str) -> Node:
        """The schema of property ``name`` (or of a map's values); empty when unknown."""
        r = self.resolved
        props = r.get("properties") or {}
        if name in props:
            return Node(schemas=self.schemas, raw=props[name])
        extra = r.get("additionalProperties")
        if isinstance(extra, dict):
            return Node(schemas=self.schemas, raw=extra)
        return Node(schemas=self.schemas, raw={})

    def items(self) -> Node:
        """The schema of a list's items; empty when unknown."""
        items = self.resolved.get("items")
        return Node(schemas=self.schemas, raw=items if isinstance(items, dict) else {})

    @property
    def is_known(self) -> bool:
        """False for the empty schema of a field the schemas do not describe."""
        return bool(self.raw)


@dataclass(frozen=True, kw_only=True)
class Cause:
    """One validation failure, in the shape of a ``Status`` cause."""

    reason: str  # FieldValueInvalid | FieldValueRequired | FieldValueNotSupported | ...
    field: str  # spec.template.spec.containers[0].name
    message: str
    unknown: tuple[str | int, ...] | None = None  # path of an unknown field


class Schemas:
    """The definitions of one Kubernetes version, with a validator per kind."""

    def __init__(self) -> None:
        folder = _schema_dir()
        doc = json.loads(folder.joinpath("_definitions.json").read_text(encoding="utf-8"))
        self.version = folder.name[1:].split("-")[0]
        self.defs: dict[str, dict[str, Any]] = doc["$defs"]
        self._id = str(doc["$id"])
        self._registry: Registry[Any] = Registry().with_resource(
            self._id, Resource.from_contents(doc)
        )
        self._by_gvk: dict[tuple[str, str], str] = {}
        for name, schema in self.defs.items():
            for gvk in schema.get("x-kubernetes-group-version-kind", []):
                group, version = gvk.get("group", ""), gvk["version"]
                api_version = f"{group}/{version}" if group else version
                self._by_gvk.setdefault((api_version, gvk["kind"]), name)
        self._validators: dict[str, jsonschema.protocols.Validator] = {}

    def definition(self, api_version: str, kind: str) -> str:
        """The definition name of a kind, e.g. ``io.k8s.api.apps.v1.Deployment``."""
        try:
            return self._by_gvk[(api_version, kind)]
        except KeyError:
            raise KeyError(f"no schema for {api_version} {kind}") from None

    def kind(self, api_version: str, kind: str) -> Node:
        """The schema of a whole object of this kind."""
        name = self.definition(api_version, kind)
        return Node(schemas=self, raw={"$ref": f"#/$defs/{name}"})

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        """Follow ``$ref`` (within the definitions) until a concrete schema."""
        seen = 0
        while "$ref" in schema and seen < 32:
            ref = str(schema["$ref"]).rsplit("/", 1)[-1]
            schema = self.defs[ref]
            seen += 1
        return schema

    def validate(self, obj: dict[str, Any]) -> list[Cause]:
        """Every way ``obj`` breaks its kind's schema, unknown fields included."""
        name = self.definition(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
        validator = self._validators.get(name)
        if validator is None:
            root = {"$ref": f"{self._id}#/$defs/{name}"}
            validator = jsonschema.Draft202012Validator(root, registry=self._registry)
            self._validators[name] = validator
        causes = [c for e in validator.iter_errors(obj) for c in _causes(e)]
        return sorted(causes, key=lambda c: (c.field, c.message))


def field_path(path: Any) -> str:
    """A JSON path as Kubernetes prints it: ``spec.containers[0].name``.

    >>> field_path(["spec", "containers", 0, "name"])
    'spec.containers[0].name'
    """
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _type_names(schema: dict[str, Any]) -> str:
    types = schema.get("type")
    if isinstance(types, list):
        names = [t for t in types if t != "null"]
        return " or ".join(names) if names else "null"
    return str(types)


def _causes(error: jsonschema.ValidationError) -> list[Cause]:
    path = list(error.absolute_path)
    where = field_path(path)
    kind = error.validator
    if kind == "additionalProperties":
        known = set((error.schema.get("properties") or {}).keys())
        extra = sorted(set(error.instance) - known) if isinstance(error.instance, dict) else []
        return [
            Cause(
                reason="FieldValueUnknown",
                field=field_path([*path, k]),
                message=f'unknown field "{field_path([*path, k])}"',
                unknown=(*path, k),
            )
            for k in extra
        ]
    if kind == "required":
        missing = [
            k for k in error.validator_value
            if isinstance(error.instance, dict) and k not in error.instance
        ]
        return [
            Cause(
                reason="FieldValueRequired",
                field=field_path([*path, k]),
                message="Required value",
            )
            for k in missing
        ]
    shown = json.dumps(error.instance)
    if kind == "type":
        wanted = _type_names(error.schema)
        message = f"Invalid value: {shown}: {where} in body must be of type {wanted}"
        return [Cause(reason="FieldValueTypeInvalid", field=where, message=message)]
    if kind == "enum":
        allowed = ", ".join(json.dumps(v) for v in error.validator_value if v is not None)
        message = f"Unsupported value: {shown}: supported values: {allowed}"
        return [Cause(reason="FieldValueNotSupported", field=where, message=message)]
    if kind == "oneOf":
        message = f"Invalid value: {shown}: {where} in body must be of type int-or-string"
        return [Cause(reason="FieldValueTypeInvalid", field=where, message=message)]
    return [Cause(reason="FieldValueInvalid", field=where, message=f"Invalid value: {shown}: "
                  f"{error.message}")]


@cache
def schemas() -> Schemas:
    """The process-wide schemas (loading them takes a moment; they never change)."""
    return Schemas()
