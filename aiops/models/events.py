"""Promotion and rollback events, and the log they are recorded in.

:class:`EventLog` is the seam: the registry records every registration, promotion and
rollback through it, with who and why. :class:`JsonlEventLog` (a JSON-lines file in the
registry directory, fsynced per event) implements it for now; the journal implements
the same two methods when it takes these events over, and the registry is handed that
instead.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from aiops.models.versions import ModelKind


class ModelAction(StrEnum):
    """What happened to a version."""

    REGISTER = "register"
    PROMOTE = "promote"
    ROLLBACK = "rollback"


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelEvent:
    """One recorded change: the version now live (or registered), the one before, who, why."""

    t: float
    kind: ModelKind
    action: ModelAction
    version: str
    previous: str | None
    by: str
    why: str

    def to_json(self) -> dict[str, object]:
        return {"t": self.t, "kind": self.kind.value, "action": self.action.value,
                "version": self.version, "previous": self.previous, "by": self.by,
                "why": self.why}


class EventLog(Protocol):
    """Where model events are recorded (the journal implements this too)."""

    def record(self, event: ModelEvent) -> None: ...

    def history(self, kind: ModelKind | None = None) -> list[ModelEvent]: ...


class JsonlEventLog:
    """Model events as one JSON object per line, appended and fsynced."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def record(self, event: ModelEvent) -> None:
        """Append ``event`` durably."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(event.to_json(), sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def history(self, kind: ModelKind | None = None) -> list[ModelEvent]:
        """Every recorded event (of ``kind``), oldest first; a torn last line is skipped."""
        return [e for e in self._read() if kind is None or e.kind is kind]

    def _read(self) -> Iterator[ModelEvent]:
        if not self.path.exists():
            return
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                d = json.loads(line)
                yield ModelEvent(t=float(d["t"]), kind=ModelKind(d["kind"]),
                                 action=ModelAction(d["action"]), version=str(d["version"]),
                                 previous=d.get("previous"), by=str(d["by"]), why=str(d["why"]))
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by a crash
