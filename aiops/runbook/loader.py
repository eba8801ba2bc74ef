"""Load runbook YAML files (or directories of ``*.yaml``) with every error located.

Errors name ``file:line:column`` and the field (``spec.steps[0].action``); all problems
across all files are collected and raised together as :class:`ConfigErrors`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from aiops.config.yamlsource import (
    Located,
    dotted,
    parse_yaml_documents,
    unknown_field,
    value_position,
)
from aiops.errors import ConfigError, ConfigErrors
from aiops.runbook.schema import ACTIONS, Runbook


def runbook_files(paths: Sequence[Path]) -> list[Path]:
    """Expand directories into their ``*.yaml``/``*.yml`` files (recursively, sorted).

    Directories named ``fixtures`` hold test inputs for ``aiops runbook test``, not
    runbooks, and are skipped.
    """
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out += sorted(
                q for q in p.rglob("*")
                if q.suffix in (".yaml", ".yml") and q.is_file()
                and "fixtures" not in q.relative_to(p).parts[:-1]
            )
        else:
            out.append(p)
    return out


def _errors(exc: ValidationError, doc: Located, data: Any) -> list[ConfigError]:
    errors: list[ConfigError] = []
    for err in exc.errors(include_url=False):
        loc = _user_path(err["loc"], data)
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = unknown_field(Runbook, data, loc)
        elif err["type"] == "missing":
            msg = "field required"
        elif err["type"] == "union_tag_invalid":
            tag = (err.get("ctx") or {}).get("tag", "?")
            loc.append("action")
            msg = f"unknown action {tag!r} (expected one of: {', '.join(ACTIONS)})"
        elif err["type"] == "union_tag_not_found":
            loc.append("action")
            msg = "field required"
        elif msg.startswith("Value error, "):
            msg = msg.removeprefix("Value error, ")
        line, column = doc.where(loc)
        inside = value_position(doc, loc, err)
        if inside is not None:
            line, column = inside
        loc = [p if p != "" else "''" for p in loc]  # an empty key is still a field
        errors.append(
            ConfigError(msg, file=doc.file, line=line, column=column, field=dotted(loc) or None)
        )
    return errors


_PRIMITIVES = frozenset({"int", "str", "float", "bool", "list", "dict", "none"})


def _is_tag(part: str | int) -> bool:
    return isinstance(part, str) and (
        part[:1].isupper() or "[" in part or part.startswith("function-")
        or part in ACTIONS or part in _PRIMITIVES
    )


_NO_KEY = object()


def _key_of(node: Any, part: str | int) -> Any:
    """The key of mapping ``node`` that pydantic names ``part`` (keys may be non-strings)."""
    if not isinstance(node, dict):
        return _NO_KEY
    if part in node:
        return part
    return next((k for k in node if str(k) == str(part)), _NO_KEY)


def _user_path(raw: Sequence[str | int], data: Any) -> list[str | int]:
    """Drop the names pydantic inserts for union members (step tags, model names, types).

    A part that exists in the document is always kept, so user keys are never lost.
    """
    out: list[str | int] = []
    node = data
    for part in raw:
        key = _key_of(node, part)
        if key is not _NO_KEY:
            node = node[key]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part:][0]
        elif _is_tag(part):
            continue
        else:
            node = None
        out.append(part)
    return out


def validate_runbook(doc: Located) -> Runbook:
    """Validate one parsed document; raises located :class:`ConfigError`/``ConfigErrors``."""
    if not isinstance(doc.data, dict):
        line, column = doc.where(())
        raise ConfigError("expected a mapping (a runbook document)", file=doc.file, line=line,
                          column=column)
    data = _yaml11_keys(doc.data)
    try:
        return Runbook.model_validate(data)
    except ValidationError as exc:
        errors = _errors(exc, doc, data)
        raise errors[0] if len(errors) == 1 else ConfigErrors(errors) from None


def _yaml11_keys(data: Any) -> Any:
    """Undo YAML 1.1 reading the key ``on`` (of ``on: {failure: ...}``) as ``True``."""
    if isinstance(data, dict):
        return {("on" if k is True else k): _yaml11_keys(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_yaml11_keys(v) for v in data]
    return data


def parse_runbooks(text: str, *, file: str) -> list[Runbook]:
    """Parse and validate every runbook document in ``text``."""
    runbooks: list[Runbook] = []
    errors: list[ConfigError] = []
    for doc in parse_yaml_documents(text, file=file):
        try:
            runbooks.append(validate_runbook(doc))
        except ConfigErrors as exc:
            errors += exc.errors
        except ConfigError as exc:
            errors.append(exc)
    if errors:
        raise errors[0] if len(errors) == 1 else ConfigErrors(errors)
    return runbooks


def load_runbooks(paths: Sequence[Path]) -> list[Runbook]:
    """Load every runbook under ``paths``; names must be unique across files."""
    runbooks: list[Runbook] = []
    errors: list[ConfigError] = []
    seen: dict[str, str] = {}
    for f in runbook_files(paths):
        try:
            text = f.read_text(encoding="utf-8")
        except OSError as exc:
            errors.append(ConfigError(f"cannot read: {exc.strerror}", file=str(f)))
            continue
        try:
            found = parse_runbooks(text, file=str(f))
        except ConfigErrors as exc:
            errors += exc.errors
            continue
        except ConfigError as exc:
            errors.append(exc)
            continue
        for rb in found:
            if rb.name in seen:
                errors.append(
                    ConfigError(
                        f"duplicate runbook name {rb.name!r} (also in {seen[rb.name]})",
                        file=str(f),
                        field="metadata.name",
                    )
                )
            seen[rb.name] = str(f)
            runbooks.append(rb)
    if errors:
        raise errors[0] if len(errors) == 1 else ConfigErrors(errors)
    return runbooks
