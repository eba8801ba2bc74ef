"""Base of the runbook language models: frozen, strict, aliases accepted."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Base of every runbook model: frozen, unknown fields rejected, aliases accepted."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
