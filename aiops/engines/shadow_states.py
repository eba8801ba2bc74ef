"""Shadow candidates' learnt state: each candidate model by name, continued from its
checkpoint when one fits its configuration, else started fresh (and then taught the
backfilled history). One shape for detector and forecaster candidates alike.

>>> class Model:
...     def __init__(self) -> None:
...         self.blob = b""
...     def snapshot(self) -> bytes:
...         return self.blob
...     def restore(self, blob: bytes) -> None:
...         if blob == b"other config":
...             raise ValueError("taken under another configuration")
...         self.blob = blob
>>> import structlog
>>> states = CandidateStates({"a": Model(), "b": Model()}, mismatch=(ValueError,),
...                          log=structlog.wrap_logger(structlog.ReturnLogger()))
>>> states.restore("a", b"state"), states.restore("b", b"other config")
(True, False)
>>> [name for name, _ in states.fresh()], states.needs_history, states.snapshots()["a"]
(['b'], True, b'state')
"""

from __future__ import annotations

from typing import Generic, Protocol, TypeVar

import structlog

Log = structlog.typing.FilteringBoundLogger


class Snapshotting(Protocol):
    """A model whose state is one blob."""

    def snapshot(self) -> bytes: ...

    def restore(self, blob: bytes) -> None: ...


M = TypeVar("M", bound=Snapshotting)


class CandidateStates(Generic[M]):
    """Candidate models by name, and which of them continue from a checkpoint."""

    def __init__(
        self, models: dict[str, M], *, mismatch: tuple[type[Exception], ...], log: Log
    ) -> None:
        self.models = models
        self.mismatch = mismatch
        self.log = log
        self.restored: set[str] = set()

    def restore(self, name: str, blob: bytes) -> bool:
        """Continue candidate ``name`` from a checkpoint (False: it does not fit, e.g.
        taken under another configuration; the candidate starts fresh and says why)."""
        try:
            self.models[name].restore(blob)
        except self.mismatch as exc:
            self.log.warning("shadow_restore_failed", candidate=name, error=str(exc))
            return False
        self.restored.add(name)
        return True

    def snapshots(self) -> dict[str, bytes]:
        """Each candidate's state, by name."""
        return {name: model.snapshot() for name, model in self.models.items()}

    def fresh(self) -> list[tuple[str, M]]:
        """The candidates without a checkpoint (they learn the backfill)."""
        return [(n, m) for n, m in self.models.items() if n not in self.restored]

    @property
    def needs_history(self) -> bool:
        """Whether some candidate has no state and should learn the backfill."""
        return len(self.restored) < len(self.models)
