"""The three Kubernetes patch flavours, applied to plain JSON documents.

JSON patch (RFC 6902), JSON merge patch (RFC 7386) and the subset of strategic merge
patch the actuators use: maps merge, ``null`` deletes, and lists of objects that carry
a ``name`` (containers, env, volumes, ports with names) merge by that key; other lists
are replaced, as the API server does for lists without a patch merge key.

>>> json_patch({"a": {"b": 1}}, [{"op": "replace", "path": "/a/b", "value": 2}])
{'a': {'b': 2}}
>>> merge_patch({"a": {"b": 1, "c": 2}}, {"a": {"c": None, "d": 3}})
{'a': {'b': 1, 'd': 3}}
>>> strategic_merge_patch({"c": [{"name": "x", "v": 1}]}, {"c": [{"name": "x", "v": 2}]})
{'c': [{'name': 'x', 'v': 2}]}
"""

from __future__ import annotations

import copy
from typing import Any


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


def _named(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(i, dict) and "name" in i for i in items)


def strategic_merge_patch(doc: Any, patch: Any) -> Any:
    """Strategic merge: like merge patch, but named-object lists merge by ``name``."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(doc) if isinstance(doc, dict) else {}
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        current = out.get(key)
        if value is None:
            out.pop(key, None)
        elif (
            isinstance(value, list)
            and isinstance(current, list)
            and _named(value)
            and (_named(current) or not current)
        ):
            merged = [copy.deepcopy(i) for i in current]
            index = {i["name"]: n for n, i in enumerate(merged)}
            for item in value:
                if item.get("$patch") == "delete":
                    merged = [m for m in merged if m["name"] != item["name"]]
                    index = {i["name"]: n for n, i in enumerate(merged)}
                elif item["name"] in index:
                    pos = index[item["name"]]
                    merged[pos] = strategic_merge_patch(merged[pos], item)
                else:
                    merged.append(copy.deepcopy(item))
                    index[item["name"]] = len(merged) - 1
            out[key] = merged
        else:
            out[key] = strategic_merge_patch(current, value)
    return out
