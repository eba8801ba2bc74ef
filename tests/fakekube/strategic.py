"""Strategic merge patch, driven by the Kubernetes OpenAPI schemas.

What the API server does with ``application/strategic-merge-patch+json``
(k8s.io/apimachinery ``strategicpatch``): maps merge key by key and ``null`` deletes; a
list merges only where its schema says ``x-kubernetes-patch-strategy: merge`` — by its
``x-kubernetes-patch-merge-key`` for lists of objects (``containers`` by ``name``,
``ports`` by ``containerPort``, ``volumeMounts`` by ``mountPath``), as a set union for
lists of scalars (``finalizers``) — and is replaced otherwise (``args``, ``command``).
The directives: ``$patch: replace | delete | merge`` in maps and list items,
``$deleteFromPrimitiveList/<field>``, ``$setElementOrder/<field>`` and ``$retainKeys``.
Fields the schemas do not describe (or objects of unknown kinds) get JSON merge
semantics: lists are replaced.

>>> from tests.fakekube.schemas import schemas
>>> pod = schemas().kind("v1", "Pod")
>>> doc = {"spec": {"containers": [{"name": "a", "image": "x:1", "args": ["-v"]}]}}
>>> patch = {"spec": {"containers": [{"name": "a", "args": ["-q"]}, {"name": "b"}]}}
>>> strategic_merge(doc, patch, pod)["spec"]["containers"]
[{'name': 'a', 'image': 'x:1', 'args': ['-q']}, {'name': 'b'}]
"""

from __future__ import annotations

import copy
import json
from typing import Any

from tests.fakekube.schemas import Node

DELETE_FROM = "$deleteFromPrimitiveList/"
ORDER = "$setElementOrder/"
RETAIN = "$retainKeys"
PATCH = "$patch"


class StrategicPatchError(ValueError):
    """A patch the server would refuse (a bad directive, a list item without its key)."""


def strategic_merge(doc: Any, patch: Any, schema: Node | None) -> Any:
    """``doc`` with ``patch`` applied strategically (both left unchanged)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    merged = _merge_map(doc if isinstance(doc, dict) else {}, patch, schema)
    return {} if merged is None else merged


def _child(schema: Node | None, key: str) -> Node | None:
    if schema is None:
        return None
    child = schema.field(key)
    return child if child.is_known else None


def _merge_map(doc: dict[str, Any], patch: dict[str, Any], schema: Node | None) -> Any:
    directive = patch.get(PATCH)
    if directive == "delete":
        return None
    if directive == "replace":
        return _clean({k: v for k, v in patch.items() if k != PATCH}, schema)
    if directive not in (None, "merge"):
        raise StrategicPatchError(f"unknown patch directive {directive!r}")
    out = copy.deepcopy(doc)
    retain = patch.get(RETAIN)
    if retain is not None:
        if not isinstance(retain, list):
            raise StrategicPatchError(f"{RETAIN} must be a list")
        out = {k: v for k, v in out.items() if k in retain}
    orders: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if key in (PATCH, RETAIN):
            continue
        if key.startswith(DELETE_FROM):
            field = key[len(DELETE_FROM):]
            if isinstance(out.get(field), list) and isinstance(value, list):
                out[field] = [v for v in out[field] if v not in value]
            continue
        if key.startswith(ORDER):
            if not isinstance(value, list):
                raise StrategicPatchError(f"{key} must be a list")
            orders[key[len(ORDER):]] = value
            continue
        child = _child(schema, key)
        current = out.get(key)
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict):
            merged = _merge_map(current if isinstance(current, dict) else {}, value, child)
            if merged is None:
                out.pop(key, None)
            else:
                out[key] = merged
        elif isinstance(value, list):
            out[key] = _merge_list(current if isinstance(current, list) else [], value, child)
        else:
            out[key] = copy.deepcopy(value)
    for field, order in orders.items():
        if isinstance(out.get(field), list):
            out[field] = _ordered(out[field], order, _child(schema, field))
    return out


def _merge_list(doc: list[Any], patch: list[Any], schema: Node | None) -> list[Any]:
    if any(isinstance(i, dict) and i.get(PATCH) == "replace" and len(i) == 1 for i in patch):
        rest = [i for i in patch if not (isinstance(i, dict) and i.get(PATCH) == "replace")]
        return _clean(rest, schema)  # type: ignore[no-any-return]
    if schema is None or "merge" not in schema.patch_strategy:
        return _clean(patch, schema)  # type: ignore[no-any-return]
    key = schema.merge_key
    items = schema.items()
    if key is None:  # a set of scalars
        out = copy.deepcopy(doc)
        for value in patch:
            if isinstance(value, dict):
                raise StrategicPatchError("a list of scalars cannot hold a map")
            if value not in out:
                out.append(copy.deepcopy(value))
        return out
    out = copy.deepcopy(doc)
    for item in patch:
        if not isinstance(item, dict):
            raise StrategicPatchError(f"items of this list are objects merged by {key!r}")
        if key not in item:
            raise StrategicPatchError(f"map: {item} does not contain declared merge key: {key}")
        at = next(
            (n for n, o in enumerate(out) if isinstance(o, dict) and o.get(key) == item[key]),
            None,
        )
        if item.get(PATCH) == "delete":
            out = [o for o in out if not (isinstance(o, dict) and o.get(key) == item[key])]
        elif at is None:
            added = _merge_map({}, item, items)
            if added is not None:
                out.append(added)
        else:
            merged = _merge_map(out[at], item, items)
            if merged is None:
                del out[at]
            else:
                out[at] = merged
    return out


def _ordered(values: list[Any], order: list[Any], schema: Node | None) -> list[Any]:
    key = schema.merge_key if schema is not None else None

    def ident(v: Any) -> str:
        return json.dumps(v.get(key) if key is not None and isinstance(v, dict) else v)

    rank = {ident(o): n for n, o in enumerate(order)}
    return sorted(values, key=lambda v: rank.get(ident(v), len(rank)))


def _clean(value: Any, schema: Node | None) -> Any:
    """A patch value stored as is: directives resolved against an empty original."""
    if isinstance(value, dict):
        return _merge_map({}, value, schema)
    if isinstance(value, list):
        items = schema.items() if schema is not None else None
        out = []
        for v in value:
            c = _clean(v, items)
            if c is not None:
                out.append(c)
        return out
    return copy.deepcopy(value)
