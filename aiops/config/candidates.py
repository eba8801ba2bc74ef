"""Shadow candidates: named variants of a live model section (``detect`` or ``forecast``).

A candidate is the live section with a few settings changed (``set``); the daemon runs it
beside the live model on the same samples and journals what it would have raised and
decided, never acting on it (docs/models.md). Its settings are checked here against the
section's own model, so a typo or an out-of-range value fails ``aiops check`` with the
field named.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError

from aiops.config.base import Section

#: How a candidate is named in the journal, in ``aiops models compare`` and in /metrics.
NAME_PATTERN = r"^[a-z0-9]([-a-z0-9_.]{0,38}[a-z0-9])?$"
#: Candidates per section at most (each costs a full model's state and time per cycle).
MAX_CANDIDATES = 4

M = TypeVar("M", bound=BaseModel)


class Candidate(Section):
    """One shadow candidate: a name and the settings that differ from the live section."""

    name: str = Field(
        pattern=NAME_PATTERN,
        description="Name of the candidate (lower case, digits, '-', '_', '.'; up to 40).",
    )
    set: dict[str, Any] = Field(
        min_length=1,
        description="Settings that differ from the live section (setting: value), e.g. "
        "{threshold: 0.95} for detect, {quantile: 0.8} for forecast.",
    )


def check_overrides(
    model: type[BaseModel], values: Mapping[str, Any], *, fixed: Collection[str]
) -> None:
    """Raise ``ValueError`` naming the first bad setting: unknown, fixed, or invalid."""
    for key in values:
        if key in fixed:
            raise ValueError(f"{key}: a candidate cannot change {key} (it must match live)")
        if key not in model.model_fields:
            raise ValueError(f"{key}: not a setting of this section")
    try:
        model.model_validate(dict(values))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"{where}: {first['msg']}") from None


def variant(live: M, values: Mapping[str, Any], *, exclude: Collection[str]) -> M:
    """``live`` with ``values`` set, validated as a whole (``exclude``: not carried over)."""
    base = live.model_dump(mode="json", exclude=set(exclude))
    return type(live).model_validate({**base, **values})


def unique_names(candidates: Collection[Candidate]) -> None:
    """Raise ``ValueError`` when two candidates share a name."""
    seen: set[str] = set()
    for c in candidates:
        if c.name in seen:
            raise ValueError(f"two candidates are named {c.name!r}")
        seen.add(c.name)
