"""Feedback: the latest word per incident counts; sensitivity raises are bounded and replayed."""

from __future__ import annotations

from aiops.model import SeriesKey
from aiops.models.feedback import (
    FeedbackRecord,
    SensitivityChange,
    SensitivityEvent,
    SensitivityRule,
    Verdict,
    false_positives_since,
    raises,
    series_of_signal,
    verdicts,
)


def test_the_latest_word_on_an_incident_counts() -> None:
    """A true positive given after a false positive on the same incident replaces it."""
    first = FeedbackRecord(incident="i", verdict=Verdict.FALSE_POSITIVE, event_id=3)
    later = FeedbackRecord(incident="i", verdict=Verdict.TRUE_POSITIVE, event_id=9)
    assert verdicts([later, first])["i"].verdict is Verdict.TRUE_POSITIVE


def test_raises_never_pass_the_cap_and_a_reset_drops_them() -> None:
    """Steps of 0.02 capped at 0.05; a reset event puts the series back at 0."""
    rule = SensitivityRule(after=2, step=0.02, max_raise=0.05, max_series=10)
    current = 0.0
    for _ in range(5):
        current = rule.next_raise(current=current, false_positives=2)
    assert current == 0.05
    assert rule.next_raise(current=0.0, false_positives=1) == 0.0
    changes = [SensitivityEvent(series="s", change=SensitivityChange.RAISED, raise_=0.04,
                                event_id=1),
               SensitivityEvent(series="t", change=SensitivityChange.RAISED, raise_=0.02,
                                event_id=2),
               SensitivityEvent(series="s", change=SensitivityChange.RESET, raise_=0.0,
                                event_id=3)]
    assert raises(changes) == {"t": 0.02}


def test_false_positives_count_only_after_the_series_last_change() -> None:
    """Feedback before the last raise of the series does not count towards the next."""
    fps = [FeedbackRecord(incident=f"i{n}", verdict=Verdict.FALSE_POSITIVE, series="s",
                          event_id=n) for n in (1, 2, 5)]
    change = [SensitivityEvent(series="s", change=SensitivityChange.RAISED, raise_=0.02,
                               event_id=3)]
    assert false_positives_since("s", fps, change) == 1
    assert false_positives_since("s", fps, []) == 3


def test_the_series_of_an_incident_is_its_signal_series() -> None:
    """An anomaly incident's labels (series labels plus metric) give back str(SeriesKey)."""
    key = SeriesKey.of("latency_p99", workload="checkout", namespace="shop")
    labels = {**key.label_map, "metric": key.metric}
    assert series_of_signal(f"anomaly:{key}:12.0", labels) == str(key)
    assert series_of_signal("alert:fp:x:firing", labels) == ""
