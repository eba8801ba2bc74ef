"""Sandboxed expressions and templates (jinja2 ``SandboxedEnvironment``, no code execution).

Missing variables are errors (``StrictUndefined``), so a template that names a label
the signal lacks stops the match with a reason instead of rendering an empty name.

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

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError
from jinja2.nodes import Template as TemplateNode
from jinja2.sandbox import SandboxedEnvironment

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


class TemplateError(ValueError):
    """A template or expression failed to compile or render."""


@lru_cache(maxsize=1024)
def _template(text: str) -> Any:
    try:
        return _ENV.from_string(text)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"invalid template {text!r}: {exc.message}") from None


@lru_cache(maxsize=1024)
def _expression(text: str) -> Any:
    try:
        return _ENV.compile_expression(text, undefined_to_none=False)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"invalid expression {text!r}: {exc.message}") from None


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
    """Render a template; missing variables raise :class:`TemplateError`."""
    try:
        return str(_template(text).render(**context))
    except (UndefinedError, SecurityError, TypeError, ValueError, ArithmeticError) as exc:
        raise TemplateError(f"cannot render {text!r}: {exc}") from None


def evaluate(text: str, context: Mapping[str, Any]) -> bool:
    """Evaluate a boolean expression; errors raise :class:`TemplateError`."""
    try:
        return bool(_expression(text)(**context))
    except (UndefinedError, SecurityError, TypeError, ValueError, ArithmeticError) as exc:
        raise TemplateError(f"cannot evaluate {text!r}: {exc}") from None


def render_value(value: Any, context: Mapping[str, Any]) -> Any:
    """Render every string inside a JSON-like value (dicts, lists) as a template."""
    if isinstance(value, str):
        return render(value, context)
    if isinstance(value, Mapping):
        return {str(k): render_value(v, context) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [render_value(v, context) for v in value]
    return value
