"""The promotion gate: is a candidate version worse than the live one? Pure, no I/O.

Evidence comes from sources that implement :class:`Evidence`; each returns
:class:`Check` values (one metric, both sides, a :class:`CheckCode`). Today the source
are :class:`RecordedBenchmarks` (the metrics ``aiops models bench`` stored on both
versions; each metric knows whether lower or higher is better and how much noise to
forgive) and :class:`ShadowEvidence` (the candidate scored beside the live model on the
same samples: precision from feedback, missed true positives, forecast MASE and
coverage), both judged by the same :func:`evaluate`.

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

from aiops.models.compare import Comparison
from aiops.models.versions import ModelKind, ModelVersion


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
    # the shadow window (ShadowEvidence)
    "precision": Metric(lower_is_better=False, abs_tol=0.05),
    "missed_true_positives": Metric(lower_is_better=True),
    "coverage_shortfall": Metric(lower_is_better=True, abs_tol=0.02),
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
        return [_judge(name, candidate.metrics.get(name), live.metrics.get(name), "benchmarks")
                for name in sorted(set(candidate.metrics) | set(live.metrics))
                if metric(name) is not None]


def _judge(name: str, c: float | None, v: float | None, source: str) -> Check:
    m = metric(name)
    if m is None or c is None or v is None or c != c or v != v:  # NaN: nothing measured
        return Check(name=name, candidate=c, live=v, code=CheckCode.MISSING, source=source)
    gain = (v - c) if m.lower_is_better else (c - v)
    noise = max(m.abs_tol, m.rel_tol * abs(v))
    code = CheckCode.WORSE if gain < -noise else CheckCode.BETTER if gain > noise \
        else CheckCode.SAME
    return Check(name=name, candidate=c, live=v, code=code, source=source)


class ShadowEvidence:
    """Evidence from the shadow window: the candidate and live on the same samples.

    Detector: precision from operators' feedback (both sides judged), and true positives
    the candidate would have missed. Forecaster, per workload: MASE, and the shortfall
    of upper-band coverage below each side's own quantile.
    """

    def __init__(self, comparisons: Sequence[Comparison]) -> None:
        self.comparisons = comparisons

    def checks(self, candidate: ModelVersion, live: ModelVersion) -> Sequence[Check]:
        c = next((c for c in self.comparisons if candidate.id in c.candidate.versions
                  and c.kind is candidate.kind), None)
        if c is None or live.id not in c.live.versions:
            return []
        src = "shadow"
        if candidate.kind is ModelKind.DETECTOR:
            cp, lp = c.candidate.precision, c.live.precision
            return [
                _judge("shadow/precision", cp.value if cp.judged else None,
                       lp.value if lp.judged else None, src),
                _judge("shadow/missed_true_positives", float(c.candidate.missed_true),
                       0.0 if lp.judged else None, src),
            ]
        out = []
        q_c = float(candidate.config.get("quantile", 0.9))
        q_l = float(live.config.get("quantile", 0.9))
        for workload in sorted(set(c.candidate.quality) | set(c.live.quality)):
            mc, cc = c.candidate.quality.get(workload, (None, None))
            ml, cl = c.live.quality.get(workload, (None, None))
            out.append(_judge(f"shadow/{workload}/mase", mc, ml, src))
            out.append(_judge(f"shadow/{workload}/coverage_shortfall",
                              None if cc is None else max(0.0, q_c - cc),
                              None if cl is None else max(0.0, q_l - cl), src))
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
