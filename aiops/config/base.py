"""Strict base model shared by every configuration section: unknown fields are errors."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A configuration section: frozen, no unknown keys, documented field by field."""

    model_config = ConfigDict(extra="forbid", frozen=True)
