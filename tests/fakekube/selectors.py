"""Label and field selectors as the API server parses them from list/watch queries.

>>> labels = {"app": "web", "tier": "front"}
>>> matches_labels(labels, "app=web,tier in (front, back)")
True
>>> matches_labels(labels, "app=web,!canary,tier notin (front)")
False
>>> matches_fields({"metadata": {"name": "web", "namespace": "shop"}}, "metadata.name=web")
True
"""

from __future__ import annotations

import re
from typing import Any

_SET = re.compile(r"^\s*([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


class SelectorError(ValueError):
    """A selector the server cannot parse (answered with 400)."""


def _terms(selector: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(selector):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(selector[start:i])
            start = i + 1
    out.append(selector[start:])
    return [t.strip() for t in out if t.strip()]


def matches_labels(labels: dict[str, str], selector: str) -> bool:
    """Whether ``labels`` satisfy a label selector (``=``, ``==``, ``!=``, in, notin, exists)."""
    for term in _terms(selector):
        m = _SET.match(term)
        if m:
            key, op, values = m[1], m[2], {v.strip() for v in m[3].split(",") if v.strip()}
            if (op == "in") != (key in labels and labels[key] in values):
                return False
        elif "!=" in term:
            key, value = (p.strip() for p in term.split("!=", 1))
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = (p.strip() for p in term.replace("==", "=").split("=", 1))
            if labels.get(key) != value:
                return False
        elif term.startswith("!"):
            if term[1:].strip() in labels:
                return False
        elif re.fullmatch(r"[A-Za-z0-9./_-]+", term):
            if term not in labels:
                return False
        else:
            raise SelectorError(f"unable to parse requirement: {term!r}")
    return True


def _field(obj: dict[str, Any], path: str) -> str | None:
    node: Any = obj
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return None if node is None else str(node)


def matches_fields(obj: dict[str, Any], selector: str) -> bool:
    """Whether ``obj`` satisfies a field selector such as ``metadata.name=web``."""
    for term in _terms(selector):
        negate = "!=" in term
        key, _, value = term.replace("!=", "=").replace("==", "=").partition("=")
        key, value = key.strip(), value.strip()
        if key not in ("metadata.name", "metadata.namespace"):
            raise SelectorError(f'"{key}" is not a known field selector: only '
                                '"metadata.name", "metadata.namespace"')
        if (_field(obj, key) == value) == negate:
            return False
    return True
