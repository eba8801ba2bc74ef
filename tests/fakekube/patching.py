"""The three Kubernetes patch flavours, applied to plain JSON documents.

JSON patch (RFC 6902), JSON merge patch (RFC 7386) and strategic merge patch, whose list
merge keys and strategies come from the Kubernetes OpenAPI schemas
(:mod:`tests.fakekube.strategic`).

>>> json_patch({"a": {"b": 1}}, [{"op": "replace", "path": "/a/b", "value": 2}])
{'a': {'b': 2}}
>>> merge_patch({"a": {"b": 1, "c": 2}}, {"a": {"c": None, "d": 3}})
{'a': {'b': 1, 'd': 3}}
>>> pod = {"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [
...     {"name": "a", "volumeMounts": [{"name": "v", "mountPath": "/a"}]}]}}
>>> patch = {"spec": {"containers": [
...     {"name": "a", "volumeMounts": [{"name": "v", "mountPath": "/b"}]}]}}
>>> strategic_merge_patch(pod, patch)["spec"]["containers"][0]["volumeMounts"]
[{'name': 'v', 'mountPath': '/a'}, {'name': 'v', 'mountPath': '/b'}]
"""

from __future__ import annotations

import copy
from typing import Any

from tests.fakekube.schemas import Node, schemas
from tests.fakekube.strategic import strategic_merge


class PatchError(ValueError):
    """A patch that cannot be applied (bad path, failed test op)."""


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _split(pointer: str) -> list[str]:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PatchError(f"invalid JSON pointer {pointer!r}")
    return [_unescape(t) for t in pointer[1:].split("/")]


def _parent(doc: Any, tokens: list[str]) -> Any:
    node = doc
    for tok in tokens[:-1]:
        if isinstance(node, list):
            node = node[int(tok)]
        elif isinstance(node, dict) and tok in node:
            node = node[tok]
        else:
            raise PatchError(f"path segment {tok!r} does not exist")
    return node


def json_patch(doc: Any, ops: list[dict[str, Any]]) -> Any:
    """Apply RFC 6902 operations (add, remove, replace, test, copy, move) to a copy."""
    out = copy.deepcopy(doc)
    for op in ops:
        kind, tokens = op.get("op"), _split(str(op.get("path", "")))
        if not tokens:
            if kind in ("add", "replace"):
                out = copy.deepcopy(op["value"])
                continue
            raise PatchError(f"unsupported root operation {kind!r}")
        parent, last = _parent(out, tokens), tokens[-1]
        if kind == "test":
            current = parent[int(last)] if isinstance(parent, list) else parent.get(last)
            if current != op.get("value"):
                raise PatchError(f"test failed at {op['path']}")
        elif kind in ("add", "replace"):
            value = copy.deepcopy(op["value"])
            if isinstance(parent, list):
                if last == "-":
                    parent.append(value)
                elif kind == "add":
                    parent.insert(int(last), value)
                else:
                    parent[int(last)] = value
            else:
                if kind == "replace" and last not in parent:
                    raise PatchError(f"replace of missing path {op['path']}")
                parent[last] = value
        elif kind == "remove":
            if isinstance(parent, list):
                del parent[int(last)]
            elif last in parent:
                del parent[last]
            else:
                raise PatchError(f"remove of missing path {op['path']}")
        elif kind in ("copy", "move"):
            src = _split(str(op["from"]))
            sparent = _parent(out, src)
            value = sparent[int(src[-1])] if isinstance(sparent, list) else sparent[src[-1]]
            if kind == "move":
                del sparent[int(src[-1]) if isinstance(sparent, list) else src[-1]]
            out = json_patch(out, [{"op": "add", "path": op["path"], "value": value}])
        else:
            raise PatchError(f"unknown op {kind!r}")
    return out


def merge_patch(doc: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, ``null`` removes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(doc) if isinstance(doc, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def strategic_merge_patch(doc: Any, patch: Any) -> Any:
    """Strategic merge patch of a whole object, with the schema of its ``apiVersion``/``kind``.

    Merge keys and strategies come from the Kubernetes OpenAPI schemas (see
    :mod:`tests.fakekube.strategic`); a document of a kind they do not describe gets JSON
    merge semantics.
    """
    try:
        schema: Node | None = schemas().kind(str(doc.get("apiVersion")), str(doc.get("kind")))
    except (KeyError, AttributeError):
        schema = None
    return strategic_merge(doc, patch, schema)
