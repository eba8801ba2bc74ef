"""Configuration of the daemon's HTTP server and its authentication."""

from __future__ import annotations

import ipaddress

from pydantic import Field, model_validator

from aiops.config.base import Section


class HttpConfig(Section):
    """The HTTP server: health, metrics, incidents, webhooks, approvals."""

    enabled: bool = Field(True, description="Serve HTTP at all.")
    listen: str = Field("127.0.0.1", description="Address to bind; loopback unless you expose it.")
    port: int = Field(9464, ge=0, le=65535, description="Port (0 picks a free one).")
    token_file: str | None = Field(
        None, description="File holding the bearer token webhooks and approvals must present."
    )
    max_body_bytes: int = Field(1_048_576, ge=1024, description="Largest accepted request body.")

    @model_validator(mode="after")
    def _exposed_needs_token(self) -> HttpConfig:
        if self.enabled and self.token_file is None and not _loopback(self.listen):
            raise ValueError(
                f"http.listen is {self.listen!r}, not loopback: set http.token_file so "
                "webhooks and approvals require a token"
            )
        return self


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
