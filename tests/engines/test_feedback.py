"""Operators' feedback in the journal, and the opt-in sensitivity it teaches (bounded,
journaled, reversible)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiops.config.models import SensitivitySettings
from aiops.engines.feedback import Sensitivity, events_after, record_feedback, reset_sensitivity
from aiops.errors import NotFound
from aiops.journal import Journal
from aiops.model import Decision, Plan, Reason, ReasonCode, Target
from aiops.models.feedback import SensitivityRule, Verdict
from aiops.runbook.lifecycle import Move, Status
from tests.runbook.factories import anomaly

RULE = SensitivityRule(after=2, step=0.02, max_raise=0.03, max_series=10)


def incident(journal: Journal, workload: str, since: float) -> str:
    """A resolved incident opened by an anomaly of latency_p99 on ``workload``."""
    a = anomaly("latency_p99", workload, t=since)
    plan = Plan(runbook="ladder", target=Target(kind="SandboxWorkload", namespace="shop",
                                                name=workload),
                decision=Decision.RUN, reasons=(Reason(code=ReasonCode.MATCHED, message="m"),),
                labels=a.labels, signal_key=a.dedup_key)
    with journal.transaction() as tx:
        inc = tx.open_incident(plan, status=Status.RUNNING, mode="auto", now=since)
        assert inc is not None
        tx.move(inc, Move.RESOLVE, Reason(code=ReasonCode.VERIFIED, message="ok"), now=since + 1)
    return inc.id


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "journal.sqlite")


def test_feedback_is_a_journal_event_on_the_incident(journal: Journal) -> None:
    """The verdict, who and the note land on the incident's timeline; unknown is NotFound."""
    iid = incident(journal, "cart", 100.0)
    got = record_feedback(journal, iid, Verdict.FALSE_POSITIVE, by="dana", note="load test",
                          now=200.0)
    assert got.raised is None  # sensitivity is opt-in
    [ev] = [e for e in journal.timeline(iid) if e.kind == "feedback"]
    assert ev.code == "false-positive" and ev.detail["by"] == "dana"
    assert ev.detail["series"] == str(anomaly("latency_p99", "cart", t=0).score.key)
    with pytest.raises(NotFound):
        record_feedback(journal, "inc-nope", Verdict.TRUE_POSITIVE, by="dana", note="", now=1)


def test_repeated_false_positives_raise_the_floor_up_to_the_cap(journal: Journal) -> None:
    """Every two false positives raise cart's floor by 0.02, never beyond 0.03; each raise
    is journaled with the feedback that caused it."""
    raised = []
    for i in range(6):
        iid = incident(journal, "cart", 100.0 * (i + 1))
        raised.append(record_feedback(journal, iid, Verdict.FALSE_POSITIVE, by="dana",
                                      note="", now=1000.0 + i, rule=RULE).raised)
    assert raised == [None, 0.02, None, 0.03, None, None]
    codes = [e.code for e in events_after(journal, 0) if e.kind == "feedback"]
    assert codes.count("sensitivity-raised") == 2


def test_a_true_positive_or_a_reset_puts_the_floor_back(journal: Journal) -> None:
    """A true positive on the raised series resets it; so does `reset_sensitivity`."""
    for i in range(2):
        record_feedback(journal, incident(journal, "cart", 10.0 * i), Verdict.FALSE_POSITIVE,
                        by="d", note="", now=50.0 + i, rule=RULE)
    tp = record_feedback(journal, incident(journal, "cart", 70.0), Verdict.TRUE_POSITIVE,
                         by="d", note="", now=80.0, rule=RULE)
    assert tp.raised == 0.0
    for i in range(2):
        record_feedback(journal, incident(journal, "shop", 100.0 + i), Verdict.FALSE_POSITIVE,
                        by="d", note="", now=120.0 + i, rule=RULE)
    series = str(anomaly("latency_p99", "shop", t=0).score.key)
    assert reset_sensitivity(journal, None, by="ops", now=200.0) == [series]
    assert reset_sensitivity(journal, None, by="ops", now=201.0) == []


def test_the_daemon_applies_raises_only_when_enabled(journal: Journal) -> None:
    """A raised series' anomaly below its new floor is held back; above it passes; off: all pass."""
    for i in range(2):
        record_feedback(journal, incident(journal, "cart", 10.0 * i), Verdict.FALSE_POSITIVE,
                        by="d", note="", now=50.0 + i, rule=RULE)
    on = Sensitivity(SensitivitySettings(enabled=True), floor=0.9)
    on.refresh(journal)
    assert not on.passes(anomaly("latency_p99", "cart", t=0, score=0.91))
    assert on.passes(anomaly("latency_p99", "cart", t=0, score=0.93))
    assert on.passes(anomaly("latency_p99", "shop", t=0, score=0.91))
    off = Sensitivity(SensitivitySettings(enabled=False), floor=0.9)
    off.refresh(journal)
    assert off.passes(anomaly("latency_p99", "cart", t=0, score=0.91))
    reset_sensitivity(journal, None, by="ops", now=100.0)
    on.refresh(journal)
    assert on.passes(anomaly("latency_p99", "cart", t=0, score=0.91))
