""""Did you mean": the keys a mapping may have, read from a model's JSON Schema.

When a configuration or runbook carries an unknown key, the error names the closest
allowed key at that place (``did you mean 'score_above'?``), or, when the key is valid
somewhere else in the document, where it belongs (``backfill`` under ``source.prometheus``
is ``loop.backfill``). The allowed keys come from the pydantic model's JSON Schema, so
they never drift from the models; unions (step kinds) are narrowed by their ``const``
discriminators against the document.

>>> schema = {"properties": {"loop": {"$ref": "#/$defs/Loop"}, "source": {
...     "type": "object", "properties": {"type": {}}}},
...     "$defs": {"Loop": {"properties": {"interval": {}, "backfill": {}}}}}
>>> hint(schema, {"loop": {"intervl": 5}}, ["loop", "intervl"])
"did you mean 'interval'?"
>>> hint(schema, {"source": {"backfill": 1}}, ["source", "backfill"])
"'backfill' belongs under loop (loop.backfill)"
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from typing import Any

Schema = dict[str, Any]


def _resolve(schema: Any, root: Schema) -> Schema:
    seen = 0
    while isinstance(schema, dict) and "$ref" in schema and seen < 32:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        schema = root.get("$defs", {}).get(name, {})
        seen += 1
    return schema if isinstance(schema, dict) else {}


def _branches(schema: Any, root: Schema, data: Any) -> list[Schema]:
    """The concrete schemas ``data`` may be checked against (unions narrowed)."""
    s = _resolve(schema, root)
    options = s.get("anyOf") or s.get("oneOf") or s.get("allOf")
    if not options:
        return [s]
    out = [b for o in options for b in _branches(o, root, data)]
    if isinstance(data, dict):
        fitting = [b for b in out if _fits(b, data)]
        return fitting or out
    return out


def _fits(schema: Schema, data: dict[Any, Any]) -> bool:
    for key, prop in (schema.get("properties") or {}).items():
        pinned = isinstance(prop, dict) and "const" in prop
        if pinned and key in data and data[key] != prop["const"]:
            return False
    return schema.get("type") in (None, "object")


def _child(schemas: list[Schema], root: Schema, key: str | int, data: Any) -> list[Schema]:
    out: list[Schema] = []
    for s in schemas:
        if isinstance(key, int):
            if "items" in s:
                out += _branches(s["items"], root, data)
            continue
        props = s.get("properties") or {}
        if key in props:
            out += _branches(props[key], root, data)
        elif isinstance(s.get("additionalProperties"), dict):
            out += _branches(s["additionalProperties"], root, data)
    return out


def allowed_keys(root: Schema, data: Any, parent: Sequence[str | int]) -> list[str]:
    """The keys the mapping at ``parent`` (a path into ``data``) may have."""
    schemas, node = _branches(root, root, data), data
    for part in parent:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
        schemas = _child(schemas, root, part, node)
    keys: list[str] = []
    for s in schemas:
        keys += [k for k in (s.get("properties") or {}) if k not in keys]
    return keys


def _places(root: Schema, key: str) -> Iterator[str]:
    """Dotted paths where ``key`` is a valid property, shallowest first."""
    queue: list[tuple[str, Schema]] = [("", root)]
    seen: set[int] = set()
    while queue:
        prefix, schema = queue.pop(0)
        for s in _branches(schema, root, None):
            if id(s) in seen:
                continue
            seen.add(id(s))
            for name, prop in (s.get("properties") or {}).items():
                path = f"{prefix}.{name}" if prefix else name
                if name == key:
                    yield path
                queue.append((path, prop))


def hint(root: Schema, data: Any, path: Sequence[str | int]) -> str | None:
    """A hint for the unknown key at the end of ``path``, or None."""
    if not path or not isinstance(path[-1], str):
        return None
    key, parent = path[-1], path[:-1]
    allowed = allowed_keys(root, data, parent)
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    here = ".".join(str(p) for p in parent)
    elsewhere = [p for p in _places(root, key) if p.rsplit(".", 1)[0] != here][:2]
    if elsewhere:
        where = " or ".join(f"{p.rsplit('.', 1)[0]} ({p})" if "." in p else f"the top ({p})"
                            for p in elsewhere)
        return f"{key!r} belongs under {where}"
    if allowed:
        return "expected one of: " + ", ".join(allowed)
    return None
