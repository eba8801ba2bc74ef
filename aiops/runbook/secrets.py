"""Secrets by reference: runbook fields that carry credentials name them, never hold them.

A notify header's value is either a plain string or a reference, ``{secret_file: /abs/path}``
or ``{env: VARIABLE}``. The planner copies the *reference* into the plan, so plans, the
journal, ``/v1`` and ``aiops incidents`` only ever show where a secret lives; the
webhook actuator resolves it when it applies the step (``aiops.actuators.secrets``).
Pure: nothing here reads the file or the environment.

>>> SecretRef.model_validate({"env": "OPS_WEBHOOK_TOKEN"}).as_params()
{'env': 'OPS_WEBHOOK_TOKEN'}
>>> looks_like_credential("Authorization", "Bearer abc"), looks_like_credential("X-Team", "ops")
(True, False)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from pydantic import Field, field_validator, model_validator

from aiops.runbook.base import Strict

_ENV = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: Header names that always carry credentials.
CREDENTIAL_HEADERS = frozenset({
    "authorization", "proxy-authorization", "cookie", "x-api-key", "api-key", "x-auth-token",
    "x-access-token", "x-vault-token", "x-gitlab-token", "x-hub-signature", "private-token",
})
_CREDENTIAL_WORDS = re.compile(r"token|secret|passw|api[-_]?key|auth|signature|session",
                               re.IGNORECASE)
_CREDENTIAL_VALUE = re.compile(r"^(bearer|basic|token|apikey)\s+\S", re.IGNORECASE)


class SecretRef(Strict):
    """Where a secret lives: exactly one of an absolute file path or an environment variable."""

    secret_file: str | None = Field(None, description="Absolute path of a file holding it.")
    env: str | None = Field(None, description="Environment variable holding it.")

    @field_validator("secret_file")
    @classmethod
    def _absolute(cls, v: str | None) -> str | None:
        if v is not None and not PurePosixPath(v).is_absolute():
            raise ValueError("secret_file must be an absolute path")
        return v

    @field_validator("env")
    @classmethod
    def _env(cls, v: str | None) -> str | None:
        if v is not None and not _ENV.fullmatch(v):
            raise ValueError("env must be an environment variable name")
        return v

    @model_validator(mode="after")
    def _one(self) -> SecretRef:
        if (self.secret_file is None) == (self.env is None):
            raise ValueError("a secret reference needs exactly one of secret_file, env")
        return self

    def as_params(self) -> dict[str, str]:
        """The reference as plan data (``{"secret_file": ...}`` or ``{"env": ...}``)."""
        return {"secret_file": self.secret_file} if self.secret_file else {"env": str(self.env)}


HeaderValue = str | SecretRef


def is_reference(value: object) -> bool:
    """Whether a plan value is a secret reference (a one-key mapping of the two kinds)."""
    return isinstance(value, Mapping) and len(value) == 1 and (
        set(value) == {"secret_file"} or set(value) == {"env"})


def looks_like_credential(name: str, value: Any) -> bool:
    """Whether a literal header looks like it carries a credential (for lint)."""
    if not isinstance(value, str):
        return False
    lowered = name.strip().lower()
    return lowered in CREDENTIAL_HEADERS or bool(_CREDENTIAL_WORDS.search(lowered)) or bool(
        _CREDENTIAL_VALUE.match(value.strip()))
