"""Configuration of the daemon's HTTP server: who may call it (tokens) and its limits.

Tokens name principals: each entry maps a token, read from a file or an environment
variable (never written inline), to a name and roles. Listening beyond loopback with
no token configured is refused when the configuration loads.

>>> HttpConfig(tokens=[{"name": "am", "token_env": "AM_TOKEN", "roles": ["alerts"]}]).tokens[0].name
'am'
>>> HttpConfig().authenticated, HttpConfig(token_file="/run/aiops/token").authenticated
(False, True)
"""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from aiops.config.base import Section
from aiops.config.durations import Duration

Role = Literal["alerts", "approve", "read", "admin"]
_PRINCIPAL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
_ENV = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class TokenConfig(Section):
    """One principal: a name, its roles, and where its token is kept."""

    name: str = Field(description="Principal name, recorded as the approver and in logs.")
    roles: list[Role] = Field(
        min_length=1,
        description="alerts (POST /v1/alerts), approve (POST /v1/approvals), read (GET "
        "/v1/incidents), admin (all of them).",
    )
    token_file: str | None = Field(None, description="File holding the token (stripped).")
    token_env: str | None = Field(None, description="Environment variable holding the token.")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _PRINCIPAL.fullmatch(v):
            raise ValueError("name: 1-64 of letters, digits, '_', '.', '@', '-'")
        return v

    @field_validator("token_env")
    @classmethod
    def _env(cls, v: str | None) -> str | None:
        if v is not None and not _ENV.fullmatch(v):
            raise ValueError("token_env must be an environment variable name")
        return v

    @model_validator(mode="after")
    def _one_source(self) -> TokenConfig:
        if (self.token_file is None) == (self.token_env is None):
            raise ValueError("a token needs exactly one of token_file, token_env")
        return self


class HttpLimits(Section):
    """Bounds on every connection, request and body; each answered with a 4xx or 503."""

    max_connections: int = Field(
        10_000, ge=8,
        description="Open connections (kept under half the file-descriptor limit); at the cap "
        "the oldest one still sending its headers is closed, or the new one gets 503.",
    )
    max_in_flight: int = Field(
        64, ge=1, description="Requests handled at once; more get 503 with Retry-After."
    )
    header_timeout: Duration = Field(
        10.0, gt=0,
        description="Time a connection may take to send a request's headers (each connection "
        "gets 80-120% of it, so a flood opened at once is not shed at once).",
    )
    body_timeout: Duration = Field(
        30.0, gt=0, description="Time a request may take to send its whole body (408)."
    )
    keep_alive_timeout: Duration = Field(
        5.0, gt=0, description="Idle time before a keep-alive connection is closed."
    )
    max_requests_per_connection: int = Field(
        10_000, ge=1, description="Requests served on one keep-alive connection before close."
    )
    max_header_bytes: int = Field(
        16_384, ge=1024, description="Largest request line plus headers (431)."
    )
    max_small_body_bytes: int = Field(
        16_384, ge=256, description="Largest body of routes other than /v1/alerts (413)."
    )
    max_json_depth: int = Field(32, ge=4, description="Deepest JSON nesting accepted (400).")
    max_number_chars: int = Field(
        64, ge=16, description="Longest JSON number literal accepted (400)."
    )
    max_label_value_bytes: int = Field(
        4096, ge=64, description="Longest alert label value (400 naming the label)."
    )
    max_alert_bytes: int = Field(
        65_536, ge=1024,
        description="Largest alert: its labels and annotations together (400 naming the alert).",
    )


class HttpConfig(Section):
    """The HTTP server: health, metrics, incidents, webhooks, approvals."""

    enabled: bool = Field(True, description="Serve HTTP at all.")
    listen: str = Field("127.0.0.1", description="Address to bind; loopback unless you expose it.")
    port: int = Field(9464, ge=0, le=65535, description="Port (0 picks a free one).")
    tokens: list[TokenConfig] = Field(
        default_factory=list,
        description="Principals and their roles; once any is set, every route but /healthz, "
        "/readyz and /metrics needs a token with the right role.",
    )
    token_file: str | None = Field(
        None,
        description="Shorthand for one principal named 'shared' with roles alerts, approve and "
        "read; prefer tokens.",
    )
    max_body_bytes: int = Field(
        1_048_576, ge=1024, description="Largest accepted /v1/alerts body (413)."
    )
    limits: HttpLimits = Field(default_factory=HttpLimits)

    @model_validator(mode="after")
    def _exposed_needs_token(self) -> HttpConfig:
        if self.enabled and not self.authenticated and not _loopback(self.listen):
            raise ValueError(
                f"http.listen is {self.listen!r}, not loopback: configure http.tokens "
                "(or http.token_file) so every route needs a token"
            )
        names = [t.name for t in self.tokens]
        if len(set(names)) != len(names):
            raise ValueError("http.tokens: principal names must be unique")
        return self

    @property
    def authenticated(self) -> bool:
        """Whether any token is configured (then routes need one)."""
        return bool(self.tokens) or self.token_file is not None


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
