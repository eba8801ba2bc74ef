"""Load YAML while remembering where each value came from.

Pydantic reports errors by path (``spec.steps.0.action``); this module maps such a
path back to ``file:line:column`` so every configuration and runbook error points at
the exact spot a human has to edit.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from aiops.config.suggest import hint
from aiops.errors import ConfigError, ConfigErrors

PathPart = str | int
Marks = dict[tuple[PathPart, ...], tuple[int, int]]
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, kw_only=True, slots=True)
class Located:
    """A parsed YAML document and the 1-based line/column of every node in it."""

    data: Any
    marks: Marks
    file: str
    value_marks: Marks | None = None
    # Each scalar's (start index into the text, style), and the text: to place a character
    # inside a value (a template's syntax error) at its own line and column.
    scalars: dict[tuple[PathPart, ...], tuple[int, str | None]] | None = None
    text: str | None = None

    def where(
        self, path: Sequence[PathPart], *, value: bool = False
    ) -> tuple[int | None, int | None]:
        """Closest known position for ``path`` (its key, or its value when ``value``)."""
        p = tuple(path)
        marks = self.value_marks if value and self.value_marks is not None else self.marks
        while True:
            if p in marks:
                return marks[p]
            if not p:
                return None, None
            p = p[:-1]

    def where_in_value(
        self, path: Sequence[PathPart], offset: int
    ) -> tuple[int, int] | None:
        """Line and column of character ``offset`` of the string value at ``path``."""
        if self.scalars is None or self.text is None or tuple(path) not in self.scalars:
            return None
        start, style = self.scalars[tuple(path)]
        index = start + _raw_offset(self.text[start:], style, offset)
        line = self.text.count("\n", 0, index) + 1
        return line, index - (self.text.rfind("\n", 0, index) + 1) + 1


_ESCAPE_LENGTHS = {"x": 4, "u": 6, "U": 10}


def _raw_offset(raw: str, style: str | None, offset: int) -> int:
    """Where value character ``offset`` is in the scalar's source ``raw`` (from its start)."""
    if style in ("'", '"'):
        i, n = 1, 0
        while i < len(raw) and n < offset:
            if style == "'" and raw.startswith("''", i):
                i += 2
            elif style == '"' and raw[i] == "\\":
                i += _ESCAPE_LENGTHS.get(raw[i + 1: i + 2], 2)
            else:
                i += 1
            n += 1
        return i
    if style in ("|", ">"):
        body = raw.index("\n") + 1 if "\n" in raw else len(raw)
        first = raw[body:]
        indent = len(first) - len(first.lstrip(" "))
        i, n = body + indent, 0
        while i < len(raw) and n < offset:
            if raw[i] == "\n":
                i += 1
                while raw.startswith(" ", i) and (i - raw.rfind("\n", 0, i) - 1) < indent:
                    i += 1
            else:
                i += 1
            n += 1
        return i
    return offset


Scalars = dict[tuple[PathPart, ...], tuple[int, str | None]]


def _walk(
    node: yaml.Node, path: tuple[PathPart, ...], marks: Marks, values: Marks,
    scalars: Scalars | None = None,
) -> None:
    values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    marks.setdefault(path, values[path])
    if scalars is not None and isinstance(node, yaml.ScalarNode):
        scalars[path] = (node.start_mark.index, node.style)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            # The key's own position is more useful than the value's for "unknown field".
            marks[(*path, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            _walk(value_node, (*path, key), marks, values, scalars)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), marks, values, scalars)


def parse_yaml_documents(text: str, *, file: str) -> Iterator[Located]:
    """Parse every YAML document in ``text``; syntax errors become :class:`ConfigError`."""
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
        datas = list(yaml.safe_load_all(text))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        context = ""
        if exc.context and exc.context_mark is not None:
            cm = exc.context_mark
            context = f" ({exc.context} at line {cm.line + 1}, column {cm.column + 1})"
        raise ConfigError(
            f"invalid YAML: {exc.problem or exc}{context}",
            file=file,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", file=file) from None
    for node, data in zip(nodes, datas, strict=True):
        if node is None:
            continue
        marks: Marks = {}
        values: Marks = {}
        scalars: Scalars = {}
        _walk(node, (), marks, values, scalars)
        yield Located(data=data, marks=marks, file=file, value_marks=values, scalars=scalars,
                      text=text)


def parse_yaml(text: str, *, file: str) -> Located:
    """Parse exactly one YAML document."""
    docs = list(parse_yaml_documents(text, file=file))
    if not docs:
        raise ConfigError("file is empty", file=file, line=1, column=1)
    if len(docs) > 1:
        raise ConfigError("expected one YAML document, found several", file=file)
    return docs[0]


def read_yaml(path: Path) -> Located:
    """Read and parse one YAML file, naming it in every error."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=str(path)) from None
    return parse_yaml(text, file=str(path))


def dotted(path: Sequence[PathPart]) -> str:
    """Render a pydantic location as ``spec.steps[0].action``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def unknown_field(model: type[BaseModel] | None, data: Any, loc: Sequence[PathPart]) -> str:
    """The message for an unknown key: with the closest allowed key, or where it belongs."""
    found = hint(model.model_json_schema(by_alias=True), data, loc) if model else None
    return f"unknown field; {found}" if found else "unknown field"


def value_position(doc: Located, loc: Sequence[PathPart], err: Any) -> tuple[int, int] | None:
    """For an error raised with an ``offset`` into the value (a template's syntax error):
    the line and column of that character in the file."""
    offset = getattr((err.get("ctx") or {}).get("error"), "offset", None)
    if not isinstance(offset, int):
        return None
    return doc.where_in_value(loc, offset)


def validation_errors(
    exc: ValidationError, doc: Located, model: type[BaseModel] | None = None
) -> list[ConfigError]:
    """Translate a pydantic error into located :class:`ConfigError` values."""
    errors: list[ConfigError] = []
    for err in exc.errors(include_url=False):
        loc = [p for p in err["loc"] if not (isinstance(p, str) and _is_union_tag(p))]
        on_key = err["type"] in ("extra_forbidden", "missing")
        line, column = doc.where(loc, value=not on_key)
        inside = value_position(doc, loc, err)
        if inside is not None:
            line, column = inside
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = unknown_field(model, doc.data, loc)
        elif err["type"] == "missing":
            msg = "field required"
        errors.append(
            ConfigError(msg, file=doc.file, line=line, column=column, field=dotted(loc) or None)
        )
    return errors


def _is_union_tag(part: str) -> bool:
    # pydantic inserts the union member's name ("function-after[...]", "ScaleStep") into
    # locations; they are not fields a user wrote.
    return part[:1].isupper() or "[" in part or part.startswith("function-")


def validate(model: type[M], doc: Located) -> M:
    """Validate ``doc`` against ``model``; all problems raised together, each located."""
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        errors = validation_errors(exc, doc, model)
        if len(errors) == 1:
            raise errors[0] from None
        raise ConfigErrors(errors) from None
