"""The promotion gate: is a candidate version worse than the live one? Pure, no I/O.

Evidence comes from sources that implement :class:`Evidence`; each returns
:class:`Check` values (one metric, both sides, a :class:`CheckCode`). Today the source
is :class:`RecordedBenchmarks`: the metrics ``aiops models bench`` stored on both
versions (each metric knows whether lower or higher is better and how much noise to
forgive). The shadow window (candidates scored beside the live model on the same
samples) plugs in as another :class:`Evidence` without touching :func:`evaluate`.

>>> from aiops.models.versions import ModelKind, ModelVersion
>>> live = ModelVersion(id="f-1", kind=ModelKind.FORECASTER, config={}, code_version="c",
...                     created=0.0, metrics={"autoscale/nyc/under_vs_hpa": 0.03})
>>> cand = ModelVersion(id="f-2", kind=ModelKind.FORECASTER, config={}, code_version="c",
...                     created=1.0, metrics={"autoscale/nyc/under_vs_hpa": 0.09})
>>> v = evaluate(cand, live, [RecordedBenchmarks()])
>>> (v.passed, v.code.value, v.checks[0].code.value)
(False, 'worse', 'worse')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from aiops.models.versions import ModelVersion


class CheckCode(StrEnum):
    """How the candidate fares on one metric."""

    BETTER = "better"
    SAME = "same"  # within the metric's noise
    WORSE = "worse"
    MISSING = "missing"  # recorded on one side only: not compared


class VerdictCode(StrEnum):
    """The gate's answer."""

    PASSED = "passed"  # nothing worse, at least one metric compared
    WORSE = "worse"
    NOTHING_COMPARED = "nothing-compared"
    KIND_MISMATCH = "kind-mismatch"


@dataclass(frozen=True, kw_only=True, slots=True)
class Metric:
    """What a recorded metric means: which way is better and the noise forgiven."""

    lower_is_better: bool
    abs_tol: float = 0.0
    rel_tol: float = 0.0


# By the last path component of a metric name (``autoscale/<trace>/under_vs_hpa``).
METRICS: dict[str, Metric] = {
    "under_vs_hpa": Metric(lower_is_better=True, abs_tol=0.005, rel_tol=0.05),
    "replica_hours_vs_hpa": Metric(lower_is_better=True, abs_tol=0.005),
    "mase": Metric(lower_is_better=True, abs_tol=0.005, rel_tol=0.02),
    "standard": Metric(lower_is_better=False, abs_tol=0.5),
    "reward_low_fp": Metric(lower_is_better=False, abs_tol=0.5),
    "reward_low_fn": Metric(lower_is_better=False, abs_tol=0.5),
}


def metric(name: str) -> Metric | None:
    """The meaning of metric ``name`` (None: not one the gate compares)."""
    return METRICS.get(name.rsplit("/", 1)[-1])


@dataclass(frozen=True, kw_only=True, slots=True)
class Check:
    """One metric compared."""

    name: str
    candidate: float | None
    live: float | None
    code: CheckCode
    source: str = "benchmarks"


class Evidence(Protocol):
    """Something that can compare a candidate with the live version."""

    def checks(self, candidate: ModelVersion, live: ModelVersion) -> Sequence[Check]: ...


class RecordedBenchmarks:
    """Evidence from the benchmark metrics recorded on both versions."""

    def checks(self, candidate: ModelVersion, live: ModelVersion) -> Sequence[Check]:
        out = []
        for name in sorted(set(candidate.metrics) | set(live.metrics)):
            m = metric(name)
            if m is None:
                continue
            c, v = candidate.metrics.get(name), live.metrics.get(name)
            if c is None or v is None:
                out.append(Check(name=name, candidate=c, live=v, code=CheckCode.MISSING))
                continue
            gain = (v - c) if m.lower_is_better else (c - v)
            noise = max(m.abs_tol, m.rel_tol * abs(v))
            code = (CheckCode.WORSE if gain < -noise
                    else CheckCode.BETTER if gain > noise else CheckCode.SAME)
            out.append(Check(name=name, candidate=c, live=v, code=code))
        return out


@dataclass(frozen=True, kw_only=True, slots=True)
class Verdict:
    """The promotion gate's answer, with every check behind it."""

    candidate: str
    live: str
    code: VerdictCode
    checks: tuple[Check, ...]

    @property
    def passed(self) -> bool:
        return self.code is VerdictCode.PASSED


def evaluate(
    candidate: ModelVersion, live: ModelVersion, evidence: Sequence[Evidence]
) -> Verdict:
    """Worse on any compared metric fails; nothing compared fails too (CI must not pass
    a candidate nobody measured)."""
    if candidate.kind is not live.kind:
        return Verdict(candidate=candidate.id, live=live.id, code=VerdictCode.KIND_MISMATCH,
                       checks=())
    checks = tuple(c for e in evidence for c in e.checks(candidate, live))
    compared = [c for c in checks if c.code is not CheckCode.MISSING]
    if any(c.code is CheckCode.WORSE for c in compared):
        code = VerdictCode.WORSE
    elif not compared:
        code = VerdictCode.NOTHING_COMPARED
    else:
        code = VerdictCode.PASSED
    return Verdict(candidate=candidate.id, live=live.id, code=code, checks=checks)
