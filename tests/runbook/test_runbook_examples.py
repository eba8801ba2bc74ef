"""Every shipped runbook lints clean and plans its fix against a sample signal."""

from __future__ import annotations

from aiops.model import Decision, ForecastSignal, ReasonCode, SeriesKey, Target
from aiops.runbook import GuardFacts, load_runbooks, match, plan
from aiops.runbook.lint import lint_text
from aiops.runbook.loader import runbook_files
from aiops.sim.workloads import METRICS
from tests.runbook.factories import ROOT, alert, anomaly

EXAMPLES = ROOT / "runbooks" / "examples"


def test_every_shipped_runbook_lints_clean() -> None:
    """No errors and no warnings in runbooks/ (fixtures are not runbooks)."""
    files = runbook_files([ROOT / "runbooks"])
    assert len(files) >= 8
    assert not any("fixtures" in f.parts for f in files)
    findings = [f for p in files for f in lint_text(p.read_text(), file=str(p), metrics=METRICS)]
    assert findings == []


def test_latency_ladder_plans_scale_restart_rollback() -> None:
    """The latency ladder answers a prod alert with its three verified steps."""
    rb = load_runbooks([EXAMPLES / "latency-ladder.yaml"])[0]
    sig = alert("LatencyHigh", env="prod", namespace="shop", deployment="checkout")
    m = match(rb, sig, 0.0)
    assert m is not None and m.target == Target(kind="Deployment", namespace="shop",
                                                name="checkout")
    p = plan(m, GuardFacts(), 0.0)
    assert p.decision is Decision.RUN
    assert [s.kind for s in p.steps] == ["scale", "restart", "rollback"]
    staging = anomaly("latency_p99", "x", t=500.0, since=0.0, namespace="staging", value=3.0)
    staging_sig = type(staging)(score=type(staging.score)(
        key=SeriesKey.of("latency_p99", namespace="staging", deployment="web"), t=500.0,
        value=3.0, score=0.99, expected=1.0, lower=0.5, upper=1.5), since=0.0)
    ms = match(rb, staging_sig, 500.0)
    assert ms is not None
    assert plan(ms, GuardFacts(), 500.0).reason.code is ReasonCode.WHEN_FALSE


def test_systemd_runbook_awaits_approval() -> None:
    """The systemd example targets the unit and waits for an approver."""
    rb = load_runbooks([EXAMPLES / "systemd-unit-restart.yaml"])[0]
    sig = anomaly("memory_usage", "host", t=400.0, since=0.0, value=9e8)
    sig = type(sig)(score=type(sig.score)(
        key=SeriesKey.of("memory_usage", unit="nginx.service"), t=400.0, value=9e8, score=0.95,
        expected=3e8, lower=2e8, upper=4e8), since=0.0)
    m = match(rb, sig, 400.0)
    assert m is not None and m.target == Target(kind="SystemdUnit", name="nginx.service")
    p = plan(m, GuardFacts(), 400.0)
    assert p.decision is Decision.AWAIT_APPROVAL
    assert p.steps[0].params["argv"] == ["systemctl", "is-active", "nginx.service"]


def test_alert_runbook_renders_pod_and_body() -> None:
    """The alert-driven example fills the pod and the webhook body from the alert."""
    rb = load_runbooks([EXAMPLES / "alert-pod-cpu.yaml"])[0]
    sig = alert("PodCpuHigh", severity="warning", namespace="shop", deployment="web",
                pod="web-1")
    sig = type(sig)(fingerprint="f", status="firing", labels=sig.labels,
                    annotations={"summary": "hot"}, starts_at="s", ends_at="", t=0.0)
    m = match(rb, sig, 0.0)
    assert m is not None
    p = plan(m, GuardFacts(), 0.0)
    assert p.decision is Decision.DRY_RUN
    assert p.steps[0].params["pod"] == "web-1"
    assert p.steps[2].params["body"] == {"text": "aiops replaced pod web-1 (hot)"}


def test_predictive_runbook_scales_to_forecast() -> None:
    """A forecast asking for 9 replicas plans an HPA-min scale to exactly 9."""
    rb = load_runbooks([EXAMPLES / "predictive-scaling.yaml"])[0]
    sig = ForecastSignal(key=SeriesKey.of("request_rate", namespace="shop", deployment="web"),
                         t=0.0, horizon=90.0, predicted=600.0, lower=500.0, upper=700.0,
                         capacity=400.0, desired_replicas=9, current_replicas=6)
    m = match(rb, sig, 0.0)
    assert m is not None
    p = plan(m, GuardFacts(), 0.0)
    assert p.decision is Decision.RUN
    assert p.steps[0].params["replicas"] == 9 and p.steps[0].params["via_hpa"] is True
    same = ForecastSignal(key=sig.key, t=0.0, horizon=90.0, predicted=1.0, lower=1.0, upper=1.0,
                          capacity=400.0, desired_replicas=6, current_replicas=6)
    assert match(rb, same, 0.0) is None
