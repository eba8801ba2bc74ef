"""Render the configuration reference (``docs/config.md``) from the models themselves.

The field descriptions in ``aiops.config`` are the single source of truth; a test
checks the committed document matches what this module renders.
"""

from __future__ import annotations

import json
import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from aiops.config.durations import parse_duration
from aiops.config.settings import Config


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return " \\| ".join(repr(a).replace("'", "`") for a in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_name(a) for a in typing.get_args(annotation))
    if origin is typing.Annotated:
        return "duration" if "parse_duration" in repr(annotation) else _type_name(
            typing.get_args(annotation)[0]
        )
    if origin is list:
        return f"list[{_type_name(typing.get_args(annotation)[0])}]"
    if annotation is type(None):
        return "null"
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation)


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
        if isinstance(value, BaseModel):
            return "(section)"
        return f"`{json.dumps(value)}`"
    if field.default is PydanticUndefined:
        return "required"
    return f"`{json.dumps(field.default)}`"


def _model_of(annotation: Any) -> type[BaseModel] | None:
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def render(model: type[BaseModel] = Config, prefix: str = "") -> str:
    """Markdown tables of every field, section by section.

    >>> "| `loop.interval` | duration |" in render()
    True
    """
    rows: list[str] = []
    nested: list[tuple[str, type[BaseModel]]] = []
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        path = f"{prefix}{field.alias or name}"
        sub = _model_of(field.annotation)
        if sub is not None:
            nested.append((path, sub))
            continue
        desc = (field.description or "").replace("|", "\\|")
        kind = _type_name(field.annotation)
        if any(getattr(m, "func", None) is parse_duration for m in field.metadata):
            kind = kind.replace("float", "duration")
        rows.append(f"| `{path}` | {kind} | {_default(field)} | {desc} |")
    out = []
    title = prefix.rstrip(".") or "top level"
    doc = (model.__doc__ or "").strip().splitlines()[0] if model.__doc__ else ""
    if rows:
        header = "| field | type | default | meaning |\n|---|---|---|---|"
        out.append(f"## {title}\n\n{doc}\n\n{header}")
        out.extend(rows)
        out.append("")
    for path, sub in nested:
        out.append(render(sub, f"{path}."))
    return "\n".join(out)


def document() -> str:
    """The whole ``docs/config.md``."""
    return (
        "# Configuration reference\n\n"
        "Generated from `aiops/config/` by `python -m aiops.config.reference > docs/config.md`;"
        " a test keeps it in step. Durations accept `90s`, `5m`, `1h30m` or seconds.\n\n"
        + render()
    )


if __name__ == "__main__":
    print(document())
