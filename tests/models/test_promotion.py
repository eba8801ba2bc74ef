"""The promotion gate: worse on a recorded benchmark fails, unmeasured fails, noise passes."""

from __future__ import annotations

from aiops.models.promotion import CheckCode, RecordedBenchmarks, VerdictCode, evaluate
from aiops.models.versions import ModelKind, ModelVersion


def version(vid: str, kind: ModelKind = ModelKind.FORECASTER, **metrics: float) -> ModelVersion:
    return ModelVersion(id=vid, kind=kind, config={}, code_version="c", created=0.0,
                        metrics={k.replace("__", "/"): v for k, v in metrics.items()})


def test_worse_on_one_metric_fails_and_names_it() -> None:
    """More under-provisioning than live fails even when replica-hours improve."""
    live = version("a", autoscale__nyc__under_vs_hpa=0.03, autoscale__nyc__replica_hours_vs_hpa=1.0)
    cand = version("b", autoscale__nyc__under_vs_hpa=0.20, autoscale__nyc__replica_hours_vs_hpa=0.9)
    v = evaluate(cand, live, [RecordedBenchmarks()])
    assert v.code is VerdictCode.WORSE and not v.passed
    codes = {c.name: c.code for c in v.checks}
    assert codes == {"autoscale/nyc/under_vs_hpa": CheckCode.WORSE,
                     "autoscale/nyc/replica_hours_vs_hpa": CheckCode.BETTER}


def test_noise_is_forgiven_and_higher_is_better_for_nab() -> None:
    """Within a metric's tolerance is the same; NAB scores must not drop."""
    live = version("a", ModelKind.DETECTOR, nab__standard=71.2, nab__reward_low_fp=62.2)
    same = version("b", ModelKind.DETECTOR, nab__standard=71.0, nab__reward_low_fp=63.0)
    assert evaluate(same, live, [RecordedBenchmarks()]).passed
    worse = version("c", ModelKind.DETECTOR, nab__standard=69.0, nab__reward_low_fp=63.0)
    assert evaluate(worse, live, [RecordedBenchmarks()]).code is VerdictCode.WORSE


def test_nothing_measured_on_both_sides_does_not_pass() -> None:
    """Metrics on one side only are listed as missing and the gate refuses to pass."""
    live = version("a", autoscale__nyc__under_vs_hpa=0.03)
    cand = version("b", autoscale__vic__under_vs_hpa=0.01, made_up=1.0)
    v = evaluate(cand, live, [RecordedBenchmarks()])
    assert v.code is VerdictCode.NOTHING_COMPARED
    assert {c.code for c in v.checks} == {CheckCode.MISSING}
    assert all(c.name != "made_up" for c in v.checks)


def test_kinds_must_match() -> None:
    """A detector is never gated against a forecaster."""
    v = evaluate(version("a", ModelKind.DETECTOR), version("b"), [RecordedBenchmarks()])
    assert v.code is VerdictCode.KIND_MISMATCH
