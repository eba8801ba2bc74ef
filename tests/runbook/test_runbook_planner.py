"""Pure matching and planning: decisions with reasons, guards, sandbox runbooks."""

from __future__ import annotations

from aiops.model import Decision, ManualSignal, Reason, ReasonCode, Target, TargetState
from aiops.runbook import GuardFacts, explain_match, load_runbooks, match, plan
from tests.runbook.factories import LADDER, SANDBOX_RUNBOOKS, alert, anomaly, runbook

CHECKOUT = Target(kind="SandboxWorkload", namespace="shop", name="checkout")


def test_match_renders_target_from_labels() -> None:
    """An anomaly above the threshold matches and the target comes from its labels."""
    m = match(runbook(LADDER), anomaly("latency_p99", "checkout", t=100.0), 100.0)
    assert m is not None
    assert m.target == CHECKOUT
    assert m.reasons[0].code is ReasonCode.MATCHED
    assert "matched anomaly trigger" in m.reasons[0].message and "0.97" in m.reasons[0].message


def test_match_explains_a_miss() -> None:
    """A non-matching signal returns the reason: wrong metric, low score, too short."""
    rb = runbook(LADDER)
    assert "metric cpu_usage is not latency_p99" in str(
        explain_match(rb, anomaly("cpu_usage", "checkout", t=1.0), 1.0))
    assert "score 0.50 not above 0.90" in str(
        explain_match(rb, anomaly("latency_p99", "checkout", t=1.0, score=0.5), 1.0))
    rb_for = runbook(LADDER.replace("score_above: 0.9}", "score_above: 0.9, for: 2m}"))
    why = explain_match(rb_for, anomaly("latency_p99", "checkout", t=60.0, since=0.0), 60.0)
    assert why == "anomaly: anomalous for 1m, needs 2m"
    assert match(rb_for, anomaly("latency_p99", "checkout", t=130.0, since=0.0), 130.0)


def test_missing_label_in_target_template_is_a_miss() -> None:
    """A target template naming a label the signal lacks does not match (no empty target)."""
    rb = runbook(LADDER.replace("labels.workload", "labels.deployment"))
    why = explain_match(rb, anomaly("latency_p99", "checkout", t=1.0), 1.0)
    assert isinstance(why, str) and why.startswith("target:") and "deployment" in why


def test_plan_runs_in_auto_mode_with_steps() -> None:
    """Auto mode plans RUN with each step described; a delta shows the resolved replicas."""
    m = match(runbook(LADDER), anomaly("latency_p99", "checkout", t=1.0), 1.0)
    assert m is not None
    facts = GuardFacts(state=TargetState(target=CHECKOUT, replicas=7))
    p = plan(m, facts, 1.0)
    assert p.decision is Decision.RUN
    assert [s.kind for s in p.steps] == ["scale", "restart", "rollback"]
    assert "(7 -> 8)" in p.steps[0].description  # clamped to max 8
    assert p.reason.code is ReasonCode.MODE_AUTO and p.reason.message == "mode auto: run"


def test_plan_skips_on_cooldown_with_time_left() -> None:
    """Within the cooldown the plan is a skip whose last reason says how long is left."""
    m = match(runbook(LADDER), anomaly("latency_p99", "checkout", t=1000.0), 1000.0)
    assert m is not None
    p = plan(m, GuardFacts(last_closed_at=760.0), 1000.0)
    assert p.decision is Decision.SKIP
    assert p.reason == Reason(code=ReasonCode.COOLDOWN,
                             message="cooldown 6m left on SandboxWorkload/shop/checkout")
    assert plan(m, GuardFacts(last_closed_at=300.0), 1000.0).decision is Decision.RUN


def test_plan_skips_while_an_incident_runs() -> None:
    """Concurrency skip: a running incident on the target blocks a second one."""
    m = match(runbook(LADDER), anomaly("latency_p99", "checkout", t=1.0), 1.0)
    assert m is not None
    p = plan(m, GuardFacts(running="inc-1"), 1.0)
    assert p.decision is Decision.SKIP and p.reason.code is ReasonCode.CONCURRENCY
    assert "inc-1" in p.reason.message


def test_guards_max_runs_budget_alerts_rollout_namespace() -> None:
    """Each guard stops a run with its own reason."""
    text = LADDER.replace(
        "guards: {cooldown: 10m}",
        "guards: {max_runs: [{count: 2, per: 1h}], block_while_alerts: [Maintenance],"
        " not_during_rollout: true}",
    )
    rb = runbook(text)
    m = match(rb, anomaly("latency_p99", "checkout", t=5000.0), 5000.0)
    assert m is not None

    def last(facts: GuardFacts) -> Reason:
        return plan(m, facts, 5000.0).reason

    r = last(GuardFacts(run_starts=(2000.0, 4000.0)))
    assert r.code is ReasonCode.MAX_RUNS and r.message.startswith("max_runs 2 per 1h")
    assert last(GuardFacts(run_starts=(1000.0, 4000.0))).code is ReasonCode.MODE_AUTO
    budget = last(GuardFacts(changes_last_hour=5, changes_per_hour=5))
    assert budget.code is ReasonCode.BUDGET and "global budget of 5" in budget.message
    assert last(GuardFacts(firing_alerts=frozenset({"Maintenance"}))) == Reason(
        code=ReasonCode.BLOCKED_BY_ALERT, message="alert Maintenance is firing")
    rolling = TargetState(target=CHECKOUT, rollout_in_progress=True)
    assert last(GuardFacts(state=rolling)).code is ReasonCode.ROLLOUT_IN_PROGRESS
    ks = match(rb, anomaly("latency_p99", "dns", t=5000.0, namespace="kube-system"), 5000.0)
    assert ks is not None
    assert plan(ks, GuardFacts(), 5000.0).reason == Reason(
        code=ReasonCode.NAMESPACE_DENIED, message="namespace kube-system is denied")


def test_when_expression_sees_labels_and_state() -> None:
    """`when` is evaluated with labels, score and the target's observed state."""
    when = "  when: 'score > 0.95 and state.replicas < 5'\n"
    rb = runbook(LADDER.replace("  steps:", when + "  steps:"))
    m = match(rb, anomaly("latency_p99", "checkout", t=1.0), 1.0)
    assert m is not None
    small = GuardFacts(state=TargetState(target=CHECKOUT, replicas=3))
    big = GuardFacts(state=TargetState(target=CHECKOUT, replicas=9))
    assert plan(m, small, 1.0).decision is Decision.RUN
    assert plan(m, big, 1.0).reason.code is ReasonCode.WHEN_FALSE


def test_mode_override_and_approve_mode() -> None:
    """A mode override wins over the runbook's mode; approve mode awaits approval."""
    m = match(runbook(LADDER), anomaly("latency_p99", "checkout", t=1.0), 1.0)
    assert m is not None
    assert plan(m, GuardFacts(), 1.0, mode_override="dry-run").decision is Decision.DRY_RUN
    m2 = match(runbook(LADDER.replace("mode: auto", "mode: approve")),
               anomaly("latency_p99", "checkout", t=1.0), 1.0)
    assert m2 is not None
    assert plan(m2, GuardFacts(), 1.0).decision is Decision.AWAIT_APPROVAL


def test_alert_trigger_is_firing_only() -> None:
    """An alert trigger matches its firing alert, never the resolved one."""
    rb = runbook(LADDER.replace(
        "- anomaly: {metric: latency_p99, score_above: 0.9}",
        "- alert: {alertname: PodCpuHigh, matchers: {severity: warning}}"))
    firing = alert("PodCpuHigh", namespace="shop", workload="checkout", severity="warning")
    assert match(rb, firing, 1.0) is not None
    resolved = alert("PodCpuHigh", status="resolved", namespace="shop", workload="checkout",
                     severity="warning")
    assert "only firing alerts trigger" in str(explain_match(rb, resolved, 1.0))
    other = alert("PodCpuHigh", namespace="shop", workload="checkout", severity="page")
    assert match(rb, other, 1.0) is None


def test_manual_trigger_by_name() -> None:
    """A manual signal runs only the runbook it names."""
    rb = runbook(LADDER.replace("- anomaly: {metric: latency_p99, score_above: 0.9}",
                                "- manual: {}"))
    sig = ManualSignal(runbook="ladder", t=1.0, labels={"namespace": "shop", "workload": "cart"})
    assert match(rb, sig, 1.0) is not None
    assert match(rb, ManualSignal(runbook="other", t=1.0, labels=sig.labels), 1.0) is None


SANDBOX_CASES = {
    "cart-memory-leak": (("memory_usage", "cart"), "restart"),
    "checkout-bad-rollout": (("latency_p99", "checkout"), "rollback"),
    "frontend-traffic-surge": (("request_rate", "frontend"), "scale"),
    "payments-crash-loop": (("error_rate", "payments"), "restart"),
}


def test_each_sandbox_runbook_plans_its_fix_and_nothing_else() -> None:
    """Each sandbox fault's anomaly matches exactly its runbook, which plans the healing action."""
    books = load_runbooks([SANDBOX_RUNBOOKS])
    for name, ((metric, workload), first) in SANDBOX_CASES.items():
        sig = anomaly(metric, workload, t=600.0, since=300.0, score=0.99)
        matched = [b for b in books if match(b, sig, 600.0) is not None]
        assert [b.name for b in matched] == [name]
        m = match(matched[0], sig, 600.0)
        assert m is not None
        p = plan(m, GuardFacts(), 600.0)
        assert p.decision is Decision.RUN, p.reasons
        assert p.steps[0].kind == first
        assert p.target == Target(kind="SandboxWorkload", namespace="shop", name=workload)
    # a normal score or a fresh anomaly does not act
    for b in books:
        assert match(b, anomaly("latency_p99", "checkout", t=600.0, score=0.5), 600.0) is None
        assert match(b, anomaly("memory_usage", "cart", t=600.0, since=590.0), 600.0) is None


def test_anomaly_direction_filters_drops_or_rises() -> None:
    """`direction: above` ignores a series falling below its expected value (a surge ending)."""
    rb = runbook(LADDER.replace("score_above: 0.9}", "score_above: 0.9, direction: above}"))
    rising = anomaly("latency_p99", "checkout", t=1.0, value=2.0)  # expected 1.0
    assert match(rb, rising, 1.0) is not None
    falling = anomaly("latency_p99", "checkout", t=1.0, value=2.0)
    falling = type(falling)(score=type(falling.score)(
        key=falling.score.key, t=1.0, value=0.2, score=0.99, expected=1.0, lower=0.8, upper=1.2),
        since=1.0)
    assert "value 0.2 is not above expected 1" in str(explain_match(rb, falling, 1.0))


def test_maintenance_window_and_schedule_trigger() -> None:
    """A maintenance window (UTC, across midnight) skips; a schedule signal runs its runbook."""
    from aiops.model import SignalKind
    from aiops.runbook.match import schedules

    text = LADDER.replace(
        "guards: {cooldown: 10m}",
        "guards: {maintenance_windows: [{start: '22:00', end: '02:00', weekdays: [sat]}]}")
    rb = runbook(text)
    saturday_23h = 2 * 86400 + 23 * 3600.0  # 1970-01-03 was a Saturday
    m = match(rb, anomaly("latency_p99", "checkout", t=saturday_23h), saturday_23h)
    assert m is not None
    assert plan(m, GuardFacts(), saturday_23h).reason == Reason(
        code=ReasonCode.MAINTENANCE_WINDOW, message="maintenance window 22:00-02:00 UTC")
    sunday_1h = saturday_23h + 2 * 3600  # still Saturday's window
    assert plan(m, GuardFacts(), sunday_1h).decision is Decision.SKIP
    assert plan(m, GuardFacts(), sunday_1h + 3600).decision is Decision.RUN
    sched = runbook(LADDER.replace(
        "- anomaly: {metric: latency_p99, score_above: 0.9}",
        "- schedule: {cron: '0 3 * * *', labels: {namespace: shop, workload: cart}}"))
    assert schedules([sched]) == [("ladder", "0 3 * * *", {"namespace": "shop",
                                                           "workload": "cart"})]
    tick = ManualSignal(runbook="ladder", t=1.0, labels={"namespace": "shop", "workload": "cart"},
                        source=SignalKind.SCHEDULE)
    assert match(sched, tick, 1.0) is not None
    manual = ManualSignal(runbook="ladder", t=1.0, labels=tick.labels)
    assert match(sched, manual, 1.0) is None
