"""Resolve secret references at apply time, and keep resolved values out of messages.

Only actuators call this, right before they use a value: a plan, the journal, logs and
the API hold the reference (``{secret_file: ...}`` / ``{env: ...}``). A missing file or
variable is a :class:`~aiops.errors.PermanentError` naming the reference, never a value;
:func:`redact` removes resolved values from text an outcome reports (e.g. a receiver
that echoes the request's headers back in its error body).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from aiops.errors import PermanentError
from aiops.runbook.secrets import is_reference

REDACTED = "<redacted>"


def resolve(value: Any, *, environ: Mapping[str, str] | None = None) -> str:
    """A plain value as a string, or the secret a reference names (stripped)."""
    if not is_reference(value):
        return str(value)
    env = os.environ if environ is None else environ
    if "env" in value:
        name = str(value["env"])
        secret = env.get(name, "").strip()
        if not secret:
            raise PermanentError(f"secret env {name} is unset or empty")
        return secret
    path = Path(str(value["secret_file"]))
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8"
        raise PermanentError(f"secret_file {path}: cannot read: {why}") from None
    if not secret:
        raise PermanentError(f"secret_file {path} is empty")
    return secret


def resolve_headers(
    headers: Mapping[str, Any], *, environ: Mapping[str, str] | None = None
) -> tuple[dict[str, str], list[str]]:
    """Headers with references resolved, and the secret values (for :func:`redact`)."""
    out: dict[str, str] = {}
    secrets: list[str] = []
    for name, value in headers.items():
        out[str(name)] = resolve(value, environ=environ)
        if is_reference(value):
            secrets.append(out[str(name)])
    return out, secrets


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret value (and its longer-than-8-chars tokens) replaced.

    >>> redact("echo: Bearer s3cret-value-1 and s3cret-value-1", ["Bearer s3cret-value-1"])
    'echo: <redacted> and <redacted>'
    """
    for secret in sorted(set(secrets), key=len, reverse=True):
        parts = [secret, *(p for p in secret.split() if len(p) >= 8)]
        for part in parts:
            if part:
                text = text.replace(part, REDACTED)
    return text
