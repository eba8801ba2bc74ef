"""The remediation engine: incidents, the verified ladder, guards, approvals, dry-run."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiops.actuators.record import RecordingActuator
from aiops.engines.remediate import Remediator
from aiops.errors import Conflict, Forbidden
from aiops.journal import Journal
from aiops.model import Decision, Reason, ReasonCode, Target, TargetState
from aiops.telemetry.logging import get_logger
from aiops.telemetry.metrics import Metrics
from tests.runbook.factories import LADDER, alert, anomaly, runbook, sample

CHECKOUT = Target(kind="SandboxWorkload", namespace="shop", name="checkout")


def make(tmp_path: Path, text: str = LADDER, **kw: object) -> tuple[Remediator, RecordingActuator]:
    rec = RecordingActuator(replicas=3)
    r = Remediator(
        [runbook(text)], Journal(tmp_path / "j.sqlite"), rec, Metrics(), get_logger("test"),
        **kw,  # type: ignore[arg-type]
    )
    return r, rec


def counter(r: Remediator, name: str, **labels: str) -> float:
    v = r.metrics.registry.get_sample_value(name, labels)
    return v or 0.0


def test_ladder_scales_then_restarts_after_failed_verify(tmp_path: Path) -> None:
    """Scale (delta resolved to absolute), verify fails at its deadline, restart, verify passes."""
    r, rec = make(tmp_path)
    plans = r.handle(anomaly("latency_p99", "checkout", t=0.0), 0.0)
    assert [p.decision for p in plans] == [Decision.RUN]
    r.tick(1.0, {})
    assert [(a.kind, dict(a.params)) for a in rec.applied] == [
        ("scale", {"replicas": 5, "via_hpa": False, "from": 3})]
    r.tick(100.0, sample("latency_p99", "checkout", t=100.0, value=0.9))
    assert len(rec.applied) == 1  # still verifying
    r.tick(182.0, sample("latency_p99", "checkout", t=182.0, value=0.9))
    assert [a.kind for a in rec.applied] == ["scale", "restart"]
    assert rec.applied[1].id.endswith(":1")
    r.tick(200.0, sample("latency_p99", "checkout", t=200.0, value=0.3))
    inc = r.journal.incidents()[0]
    assert inc.status == "resolved" and inc.closed_at == 200.0
    kinds = [e.kind for e in r.journal.timeline(inc.id)]
    assert kinds == ["matched", "planned", "action", "applied", "verify", "next", "action",
                     "applied", "verify", "resolved"]
    last = r.journal.timeline(inc.id)[-1]
    assert last.code == "verified" and "verified latency_p99 < 0.5" in last.reason
    assert inc.close_code == "verified"
    assert counter(r, "aiops_actions_total", runbook="ladder", action="scale",
                   outcome="done") == 1.0
    assert r.metrics.registry.get_sample_value("aiops_incidents_open") == 0.0


def test_stale_samples_do_not_verify(tmp_path: Path) -> None:
    """A sample older than the step's apply time never passes its verification."""
    r, _ = make(tmp_path)
    r.handle(anomaly("latency_p99", "checkout", t=0.0), 0.0)
    r.tick(10.0, {})
    r.tick(20.0, sample("latency_p99", "checkout", t=5.0, value=0.1))
    assert r.journal.incidents()[0].phase == "verify"


def test_no_data_follows_on_no_data(tmp_path: Path) -> None:
    """With no data by the deadline the verdict is the step's on_no_data (fail -> next)."""
    r, rec = make(tmp_path)
    r.handle(anomaly("latency_p99", "checkout", t=0.0), 0.0)
    r.tick(1.0, {})
    r.tick(200.0, sample("latency_p99", "cart", t=200.0, value=0.1))  # another workload
    inc = r.journal.incidents()[0]
    assert inc.step == 1 and [a.kind for a in rec.applied] == ["scale", "restart"]
    verify = next(e for e in r.journal.timeline(inc.id) if e.kind == "verify")
    assert "fail (observed no data" in verify.reason


def test_exhausted_ladder_escalates(tmp_path: Path) -> None:
    """When every step fails verification the incident ends exhausted and escalates."""
    text = LADDER.replace("    - action: rollback\n", "") + "  on_exhausted: {notify: [oncall]}\n"
    r, _ = make(tmp_path, text)
    r.handle(anomaly("latency_p99", "checkout", t=0.0), 0.0)
    for t in (1.0, 200.0, 400.0):
        r.tick(t, sample("latency_p99", "checkout", t=t, value=2.0))
    inc = r.journal.incidents()[0]
    assert inc.status == "exhausted"
    reasons = [e.reason for e in r.journal.timeline(inc.id)]
    assert "escalated to oncall" in reasons


def test_second_signal_while_running_is_skipped_once(tmp_path: Path) -> None:
    """Anomalies arriving every cycle open no second incident; the skip is journaled once."""
    r, _ = make(tmp_path)
    r.handle(anomaly("latency_p99", "checkout", t=0.0), 0.0)
    for t in (15.0, 30.0, 45.0):
        plans = r.handle(anomaly("latency_p99", "checkout", t=t, since=0.0), t)
        assert plans[0].decision is Decision.SKIP
        assert plans[0].reason.code is ReasonCode.CONCURRENCY
    assert len(r.journal.incidents()) == 1
    skips = [e for e in r.journal.events() if e.kind == "skipped"]
    assert len(skips) == 1
    assert counter(r, "aiops_decisions_total", runbook="ladder", decision="skip",
                   reason="concurrency") == 3.0


def test_cooldown_after_resolved_incident(tmp_path: Path) -> None:
    """After a resolved incident the target is left alone for the cooldown, then acts again."""
    r, rec = make(tmp_path)
    r.handle(anomaly("latency_p99", "checkout", t=0.0), 0.0)
    r.tick(1.0, {})
    r.tick(10.0, sample("latency_p99", "checkout", t=10.0, value=0.1))
    assert r.journal.incidents()[0].status == "resolved"
    p = r.handle(anomaly("latency_p99", "checkout", t=250.0), 250.0)[0]
    assert p.reason == Reason(code=ReasonCode.COOLDOWN,
                              message="cooldown 6m left on SandboxWorkload/shop/checkout")
    p = r.handle(anomaly("latency_p99", "checkout", t=611.0), 611.0)[0]
    assert p.decision is Decision.RUN
    assert len(r.journal.incidents()) == 2 and len(rec.applied) == 1


def test_dry_run_changes_nothing_but_journals(tmp_path: Path) -> None:
    """With dry_run the actuator applies nothing; the journal records what would have run."""
    r, rec = make(tmp_path, dry_run=True)
    p = r.handle(anomaly("latency_p99", "checkout", t=0.0), 0.0)[0]
    assert p.decision is Decision.DRY_RUN
    r.tick(1.0, {})
    assert rec.applied == [] and rec.calls[0].dry_run
    inc = r.journal.incidents()[0]
    assert inc.mode == "dry-run"
    assert r.journal.action(f"{inc.id}:0") is not None


def test_guard_rechecked_before_mutating_step(tmp_path: Path) -> None:
    """A rollout that starts after planning blocks the next mutating step."""
    text = LADDER.replace("guards: {cooldown: 10m}", "guards: {not_during_rollout: true}")
    r, rec = make(tmp_path, text)
    r.handle(anomaly("latency_p99", "checkout", t=0.0), 0.0)
    rec.set_state(TargetState(target=CHECKOUT, replicas=3, rollout_in_progress=True))
    r.tick(1.0, {})
    assert rec.applied == []
    inc = r.journal.incidents()[0]
    assert r.journal.timeline(inc.id)[-1].kind == "blocked"
    r.tick(5.0, {})  # still blocked: journaled once, not every tick
    assert [e.kind for e in r.journal.timeline(inc.id)].count("blocked") == 1
    assert counter(r, "aiops_decisions_total", runbook="ladder", decision="blocked",
                   reason="rollout-in-progress") == 1.0
    rec.set_state(TargetState(target=CHECKOUT, replicas=3))
    r.tick(20.0, {})
    assert [a.kind for a in rec.applied] == ["scale"]


def test_alert_duplicates_and_resolution(tmp_path: Path) -> None:
    """A duplicate alert is ignored; its resolved twin never acts and closes the incident."""
    text = LADDER.replace("- anomaly: {metric: latency_p99, score_above: 0.9}",
                          "- alert: {alertname: CheckoutSlow}")
    r, rec = make(tmp_path, text)
    firing = alert("CheckoutSlow", namespace="shop", workload="checkout")
    assert len(r.handle(firing, 0.0)) == 1
    assert r.handle(firing, 5.0) == []
    assert len(r.journal.incidents()) == 1
    resolved = alert("CheckoutSlow", status="resolved", namespace="shop", workload="checkout")
    assert r.handle(resolved, 10.0) == []
    inc = r.journal.incidents()[0]
    last = r.journal.timeline(inc.id)[-1]
    assert inc.status == "resolved" and inc.close_code == "alert-resolved"
    assert last.code == "alert-resolved" and "alert CheckoutSlow resolved" in last.reason
    r.tick(11.0, {})
    assert rec.applied == []


def test_approval_flow(tmp_path: Path) -> None:
    """Approve mode waits; only allowlisted approvers unblock it; unapproved requests expire."""
    text = LADDER.replace("mode: auto", "mode: approve") + (
        "  approval: {approvers: [alice], timeout: 10m}\n")
    r, rec = make(tmp_path, text)
    p = r.handle(anomaly("latency_p99", "checkout", t=0.0), 0.0)[0]
    assert p.decision is Decision.AWAIT_APPROVAL
    inc = r.journal.incidents()[0]
    r.tick(5.0, {})
    assert rec.applied == []
    with pytest.raises(Forbidden, match="may not approve"):
        r.approve(inc.id, "mallory", 6.0)
    assert r.journal.timeline(inc.id)[-1].code == "approval-denied"
    assert r.approve(inc.id, "alice", 7.0).status == "running"
    assert counter(r, "aiops_decisions_total", runbook="ladder", decision="approve",
                   reason="refused") == 1.0
    r.tick(8.0, {})
    assert [a.kind for a in rec.applied] == ["scale"]
    # a second request that nobody approves expires
    r.tick(10.0, sample("latency_p99", "checkout", t=10.0, value=0.1))  # verified
    assert r.journal.incident(inc.id).status == "resolved"  # type: ignore[union-attr]
    r.handle(anomaly("latency_p99", "checkout", t=700.0), 700.0)
    second = r.journal.incidents()[0]
    r.tick(700.0 + 601.0, {})
    assert r.journal.incident(second.id).status == "expired"  # type: ignore[union-attr]
    with pytest.raises(Conflict, match="expired"):
        r.approve(second.id, "alice", 1400.0)


def test_concurrency_queue_runs_after_the_current_incident(tmp_path: Path) -> None:
    """With `concurrency: queue` one run waits for the target and starts once it is free."""
    queued_text = LADDER.replace("name: ladder", "name: memory").replace(
        "metric: latency_p99, score_above: 0.9", "metric: memory_usage, score_above: 0.9").replace(
        "guards: {cooldown: 10m}", "guards: {concurrency: queue}").replace(
        "    - action: rollback\n", "").replace("action: scale", "action: restart").replace(
        'with: {delta: "+2", max: 8}\n', "\n")
    rec = RecordingActuator(replicas=3)
    r = Remediator([runbook(LADDER), runbook(queued_text)], Journal(tmp_path / "j.sqlite"), rec,
                   Metrics(), get_logger("test"))
    r.handle(anomaly("latency_p99", "checkout", t=0.0), 0.0)
    r.tick(1.0, {})
    p = r.handle(anomaly("memory_usage", "checkout", t=2.0), 2.0)[0]
    assert p.decision is Decision.RUN and p.reasons[-2].code is ReasonCode.QUEUED
    again = r.handle(anomaly("memory_usage", "checkout", t=3.0), 3.0)[0]
    assert again.decision is Decision.SKIP and again.reason.code is ReasonCode.CONCURRENCY
    assert "already queued" in again.reason.message
    assert [i.status for i in r.journal.incidents()] == ["queued", "running"]
    r.tick(10.0, sample("latency_p99", "checkout", t=10.0, value=0.1))  # ladder resolved
    assert [a.kind for a in rec.applied] == ["scale"]
    r.tick(20.0, {})  # memory run dequeued and started
    assert [a.kind for a in rec.applied] == ["scale", "restart"]
    statuses = {i.runbook: i.status for i in r.journal.incidents()}
    assert statuses == {"ladder": "resolved", "memory": "running"}
    kinds = [e.kind for e in r.journal.timeline(r.journal.incidents()[0].id)]
    assert kinds[:4] == ["matched", "planned", "queued", "dequeued"]


def test_max_pods_fraction_limits_pod_deletions(tmp_path: Path) -> None:
    """With max_pods_fraction 0.5 of 4 pods, the third delete_pod in an hour is held back."""
    verify = "      verify: {metric: latency_p99, below: 0.5, within: 1m, on_no_data: fail}\n"
    steps = "  steps:\n" + ("    - action: delete_pod\n" + verify) * 3
    text = LADDER.replace("guards: {cooldown: 10m}", "guards: {max_pods_fraction: 0.5}")
    text = text[:text.index("  steps:")] + steps
    rec = RecordingActuator(replicas=4)
    r = Remediator([runbook(text)], Journal(tmp_path / "j.sqlite"), rec, Metrics(),
                   get_logger("test"))
    r.handle(anomaly("latency_p99", "checkout", t=0.0), 0.0)
    r.tick(1.0, {})
    r.tick(100.0, {})  # no data -> fail -> second delete_pod
    r.tick(200.0, {})  # no data -> fail -> third delete_pod: 2 of 4 already deleted
    assert [a.kind for a in rec.applied] == ["delete_pod", "delete_pod"]
    inc = r.journal.incidents()[0]
    blocked = r.journal.timeline(inc.id)[-1]
    assert blocked.kind == "blocked"
    assert "max_pods_fraction 0.5: 2 of 4 pods deleted in the last hour" in blocked.reason


def test_global_budget_counts_real_changes_from_the_journal(tmp_path: Path) -> None:
    """changes_per_hour=1: after one applied change, any other target is skipped for an hour."""
    r, rec = make(tmp_path, changes_per_hour=1)
    r.handle(anomaly("latency_p99", "checkout", t=0.0), 0.0)
    r.tick(1.0, {})
    assert len(rec.applied) == 1
    p = r.handle(anomaly("latency_p99", "cart", t=10.0), 10.0)[0]
    assert p.reason == Reason(code=ReasonCode.BUDGET,
                              message="global budget of 1 changes per hour used up")
    later = r.handle(anomaly("latency_p99", "cart", t=3700.0), 3700.0)[0]
    assert later.decision is Decision.RUN


def test_allow_namespaces(tmp_path: Path) -> None:
    """allow_namespaces restricts runs to the listed namespaces."""
    text = LADDER.replace("guards: {cooldown: 10m}", "guards: {allow_namespaces: [shop]}")
    r, _ = make(tmp_path, text)
    assert r.handle(anomaly("latency_p99", "a", t=0.0), 0.0)[0].decision is Decision.RUN
    other = r.handle(anomaly("latency_p99", "a", t=0.0, namespace="payments"), 0.0)[0]
    assert other.reason == Reason(code=ReasonCode.NAMESPACE_NOT_ALLOWED,
                                  message="namespace payments is not in allow_namespaces")


def test_daemon_allow_namespaces_bounds_every_trigger(tmp_path: Path) -> None:
    """The daemon-wide allowlist holds whatever namespace an alert's labels name."""
    text = LADDER.replace("- anomaly: {metric: latency_p99, score_above: 0.9}",
                          "- alert: {alertname: CheckoutSlow}")
    r, rec = make(tmp_path, text, allow_namespaces=["shop"])
    evil = alert("CheckoutSlow", namespace="payments", workload="checkout")
    [p] = r.handle(evil, 0.0)
    assert p.decision is Decision.SKIP and p.reason.code is ReasonCode.NAMESPACE_NOT_ALLOWED
    [ok] = r.handle(alert("CheckoutSlow", fingerprint="fp2", namespace="shop",
                          workload="checkout"), 1.0)
    assert ok.decision is Decision.RUN
    r.tick(2.0, {})
    assert [a.target.namespace for a in rec.applied] == ["shop"]
