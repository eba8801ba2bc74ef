"""Sealed expressions and templates: an immutable jinja2 sandbox, bounded per evaluation.

Missing variables are errors (``StrictUndefined``), so a template that names a label
the signal lacks stops the match with a reason instead of rendering an empty name.
Every evaluation is bounded in work, output size and macro depth
(:mod:`aiops.runbook.sealed`); any failure, a bound, a ``RecursionError`` or a
``MemoryError`` included, raises :class:`TemplateError`, which fails that one match
with a reason and touches nothing else.

>>> ctx = {"labels": {"namespace": "shop", "workload": "cart"}}
>>> render("{{ labels.namespace }}/{{ labels.workload }}", ctx)
'shop/cart'
>>> evaluate('labels.env == "prod" and score > 0.9', {"labels": {"env": "prod"}, "score": 0.95})
True
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import TemplateSyntaxError
from jinja2.nodes import Template as TemplateNode

from aiops.runbook.sealed import MAX_OUTPUT, Bound, SealedEnvironment, bounded

_ENV = SealedEnvironment()


class TemplateError(ValueError):
    """A template or expression failed to compile or render."""


def _short(text: str) -> str:
    return repr(text) if len(text) <= 120 else repr(text[:117] + "...")


def _why(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "recursion too deep"
    if isinstance(exc, MemoryError):
        return "out of memory"
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


@lru_cache(maxsize=1024)
def _template(text: str) -> Any:
    try:
        with bounded():
            return _ENV.from_string(text)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"invalid template {_short(text)}: {exc.message}") from None
    except Exception as exc:  # compile-time folding, parser depth
        raise TemplateError(f"invalid template {_short(text)}: {_why(exc)}") from None


@lru_cache(maxsize=1024)
def _expression(text: str) -> Any:
    try:
        with bounded():
            return _ENV.compile_expression(text, undefined_to_none=False)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"invalid expression {_short(text)}: {exc.message}") from None
    except Exception as exc:
        raise TemplateError(f"invalid expression {_short(text)}: {_why(exc)}") from None


def check_template(text: str) -> None:
    """Raise :class:`TemplateError` if ``text`` is not a valid template."""
    _template(text)


def check_expression(text: str) -> None:
    """Raise :class:`TemplateError` if ``text`` is not a valid expression."""
    _expression(text)


def referenced_names(text: str) -> set[str]:
    """Attribute paths like ``labels.workload`` that a template or expression reads.

    >>> sorted(referenced_names("{{ labels.workload }}-{{ labels['ns'] }}"))
    ['labels.ns', 'labels.workload']
    """
    from jinja2 import nodes

    try:
        tree: TemplateNode = _ENV.parse(text if "{" in text else "{{ " + text + " }}")
    except TemplateSyntaxError:
        return set()
    out: set[str] = set()
    for node in tree.find_all(nodes.Getattr):
        assert isinstance(node, nodes.Getattr)
        if isinstance(node.node, nodes.Name):
            out.add(f"{node.node.name}.{node.attr}")
    for item in tree.find_all(nodes.Getitem):
        assert isinstance(item, nodes.Getitem)
        if isinstance(item.node, nodes.Name) and isinstance(item.arg, nodes.Const):
            out.add(f"{item.node.name}.{item.arg.value}")
    return out


def render(text: str, context: Mapping[str, Any]) -> str:
    """Render a template within the bounds; any failure raises :class:`TemplateError`."""
    template = _template(text)
    try:
        with bounded():
            out: list[str] = []
            size = 0
            for chunk in template.generate(**context):
                size += len(chunk)
                if size > MAX_OUTPUT:
                    raise Bound(f"output past {MAX_OUTPUT} characters")
                out.append(chunk)
            return "".join(out)
    except Exception as exc:  # every failure of a template is the template's
        raise TemplateError(f"cannot render {_short(text)}: {_why(exc)}") from None


def evaluate(text: str, context: Mapping[str, Any]) -> bool:
    """Evaluate a boolean expression within the bounds; failures raise :class:`TemplateError`."""
    expression = _expression(text)
    try:
        with bounded():
            return bool(expression(**context))
    except Exception as exc:
        raise TemplateError(f"cannot evaluate {_short(text)}: {_why(exc)}") from None


def render_value(value: Any, context: Mapping[str, Any]) -> Any:
    """Render every string inside a JSON-like value (dicts, lists) as a template."""
    if isinstance(value, str):
        return render(value, context)
    if isinstance(value, Mapping):
        return {str(k): render_value(v, context) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [render_value(v, context) for v in value]
    return value
