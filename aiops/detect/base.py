"""Detector protocols: river's ``learn_one``/``score_one`` shape, and the bank."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

from aiops.model import Sample, Score


@runtime_checkable
class Detector(Protocol):
    """One streaming detector, shaped like river's anomaly detectors.

    ``score_one`` is called before ``learn_one`` for each point; the score is in [0, 1].
    A river ``anomaly`` estimator satisfies this protocol as is.
    """

    def learn_one(self, x: Mapping[str, float]) -> None: ...

    def score_one(self, x: Mapping[str, float]) -> float: ...


class Bank(Protocol):
    """Scores many series per call; state is keyed by series and serializable."""

    def update(self, samples: Sequence[Sample]) -> list[Score]:
        """Score each valid sample, then learn it unless judged anomalous.

        Invalid samples (NaN, inf) are skipped and counted, never learnt.
        """
        ...

    def snapshot(self) -> bytes: ...

    def restore(self, blob: bytes) -> None: ...
