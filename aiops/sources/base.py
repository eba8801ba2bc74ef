"""The Source protocol: where samples come from."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from aiops.model import Sample


@runtime_checkable
class Source(Protocol):
    """Pulls the current value of every series it knows.

    ``pull`` returns all samples for time ``now`` (a sample with a NaN value marks a
    known series with no data this cycle). It raises
    :class:`aiops.errors.SourceUnavailable` when the backend cannot be reached, so the
    caller can report "source down" and act on nothing.
    """

    name: str

    def pull(self, now: float) -> Sequence[Sample]: ...

    def backfill(self, start: float, end: float) -> Sequence[Sample]:
        """History in ``[start, end)`` to warm detectors; may be empty."""
        ...

    def close(self) -> None: ...
