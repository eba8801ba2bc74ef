"""``compare``: agreement, one-sided episodes, lead time and precision from feedback."""

from __future__ import annotations

import math

from aiops.models.compare import IncidentRef, compare
from aiops.models.episodes import Episode
from aiops.models.feedback import FeedbackRecord, Verdict
from aiops.models.promotion import CheckCode, ShadowEvidence, VerdictCode, evaluate
from aiops.models.shadow_records import EpisodeRecord, SummaryRecord
from aiops.models.versions import ModelKind, ModelVersion

CPU, MEM = 'cpu{workload="cart"}', 'mem{workload="cart"}'


def rec(model: str, series: str, start: float, end: float) -> EpisodeRecord:
    ep = Episode(model=model, series=series, start=start, end=end, peak=0.95, closed=True)
    return EpisodeRecord(kind=ModelKind.DETECTOR, version=f"detector-{model}", episode=ep)


RECORDS = [rec("live", CPU, 100, 200), rec("live", MEM, 1000, 1100),
           rec("lax", CPU, 70, 210), rec("lax", CPU, 5000, 5015)]
INCIDENTS = [IncidentRef(id="i-cpu", kind=ModelKind.DETECTOR, series=CPU, t=100),
             IncidentRef(id="i-mem", kind=ModelKind.DETECTOR, series=MEM, t=1000)]


def fb(incident: str, verdict: Verdict, event_id: int) -> FeedbackRecord:
    return FeedbackRecord(incident=incident, verdict=verdict, event_id=event_id)


def test_shared_and_one_sided_episodes_and_the_lead() -> None:
    """The lax candidate shares the cpu episode 30 s earlier, misses mem, adds one of its own."""
    [c] = compare(RECORDS, [], INCIDENTS, {})
    assert c.matched == 1 and c.lead_times == (30,)
    assert [r.episode.series for r in c.only_candidate] == [CPU]
    assert [r.episode.series for r in c.only_live] == [MEM]
    assert math.isclose(c.agreement, 1 / 3)


def test_feedback_changes_each_sides_precision() -> None:
    """Live is judged on both incidents; the candidate only on the one its episodes cover."""
    [before] = compare(RECORDS, [], INCIDENTS, {})
    assert before.live.precision.judged == 0 and math.isnan(before.live.precision.value)
    judged = {"i-cpu": fb("i-cpu", Verdict.FALSE_POSITIVE, 1),
              "i-mem": fb("i-mem", Verdict.TRUE_POSITIVE, 2)}
    [after] = compare(RECORDS, [], INCIDENTS, judged)
    assert (after.live.precision.true, after.live.precision.false) == (1, 1)
    assert (after.candidate.precision.true, after.candidate.precision.false) == (0, 1)
    assert after.candidate.missed_true == 1


def test_a_candidate_covers_an_incident_whose_run_began_before_its_episode() -> None:
    """The signal's time is its run's start, minutes before the floor was crossed: a
    candidate episode between that start and the incident's opening covers it."""
    incident = IncidentRef(id="i-cart", kind=ModelKind.DETECTOR, series=MEM, t=1800,
                           opened=2040)
    records = [rec("live", MEM, 2040, 2100), rec("lax", MEM, 1920, 2100)]
    judged = {"i-cart": fb("i-cart", Verdict.TRUE_POSITIVE, 1)}
    [c] = compare(records, [], [incident], judged, slack=60.0)
    assert c.candidate.precision.judged == 1 and c.candidate.missed_true == 0
    [late] = compare([rec("live", MEM, 2040, 2100), rec("lax", MEM, 2200, 2300)], [],
                     [incident], judged, slack=60.0)
    assert late.candidate.precision.judged == 0 and late.candidate.missed_true == 1


def test_cost_and_forecast_error_add_up_over_daemon_runs() -> None:
    """The last summary of each run counts: cycles and seconds add, MASE from the summed sums."""
    def s(model: str, run: float, t: float, cycles: int, sums: tuple[float, ...]) -> SummaryRecord:
        return SummaryRecord(kind=ModelKind.FORECASTER, model=model, version=f"f-{model}",
                             run=run, t=t, cycles=cycles, seconds=cycles * 0.002, samples=cycles,
                             episodes=0, quality={"w": sums})
    sums = [s("q80", 0, 10, 5, (1, 1, 1, 1, 1, 1)), s("q80", 0, 20, 10, (4, 4, 2, 4, 3, 4)),
            s("q80", 100, 150, 10, (6, 4, 2, 4, 1, 4)), s("live", 0, 20, 10, (2, 4, 2, 4, 4, 4))]
    [c] = compare([], sums, [], {})
    assert c.candidate.cycles == 20 and math.isclose(c.candidate.cost_per_cycle, 0.002)
    mase, coverage = c.candidate.quality["w"]
    assert math.isclose(mase, (10 / 8) / (4 / 8)) and math.isclose(coverage, 4 / 8)
    assert c.live.quality["w"] == (1.0, 1.0)


def test_the_gate_fails_a_candidate_worse_on_the_shadow_window() -> None:
    """Judged false alarm on cpu: a candidate that also missed the true mem incident fails."""
    judged = {"i-cpu": fb("i-cpu", Verdict.FALSE_POSITIVE, 1),
              "i-mem": fb("i-mem", Verdict.TRUE_POSITIVE, 2)}
    comparisons = compare(RECORDS, [], INCIDENTS, judged)
    live = ModelVersion(id="detector-live", kind=ModelKind.DETECTOR, config={},
                        code_version="c", created=0)
    cand = ModelVersion(id="detector-lax", kind=ModelKind.DETECTOR, config={},
                        code_version="c", created=1)
    verdict = evaluate(cand, live, [ShadowEvidence(comparisons)])
    assert verdict.code is VerdictCode.WORSE
    codes = {c.name: c.code for c in verdict.checks}
    assert codes == {"shadow/precision": CheckCode.WORSE,
                     "shadow/missed_true_positives": CheckCode.WORSE}
    unjudged = evaluate(cand, live, [ShadowEvidence(compare(RECORDS, [], INCIDENTS, {}))])
    assert unjudged.code is VerdictCode.NOTHING_COMPARED
