"""Anomaly episodes: one start per burst, ongoing while it lasts, one end; ``since`` for for:."""

from __future__ import annotations

import numpy as np

from aiops.config.detect import DetectConfig
from aiops.detect.bank import DetectorBank
from aiops.detect.episodes import EpisodeTracker, Phase

YES = np.array([True])
NO = np.array([False])


def _codes(tracker: EpisodeTracker, scores: list[float], records: set[int] = frozenset()
           ) -> list[Phase]:  # type: ignore[assignment]
    out = []
    for i, s in enumerate(scores):
        step = tracker.step(np.array([s]), YES, YES if i in records else NO, np.array([i * 1.0]))
        out.append(Phase(int(step.code[0])))
    return out


def test_a_burst_is_one_start_then_ongoing_until_calm_after_the_minimum_length() -> None:
    """Scores above the open level inside one episode start nothing new; calm ends it."""
    ep = EpisodeTracker(open_level=0.5, min_length=4, calm=2)
    ep.grow(1)
    codes = _codes(ep, [0.1, 0.9, 0.2, 0.8, 0.1, 0.1, 0.1, 0.1, 0.6])
    assert codes == [Phase.NONE, Phase.START, Phase.ONGOING, Phase.ONGOING, Phase.ONGOING,
                     Phase.END, Phase.NONE, Phase.NONE, Phase.START]


def test_the_minimum_length_keeps_a_quiet_episode_open() -> None:
    """Calm samples do not end an episode before it has lasted min_length samples."""
    ep = EpisodeTracker(open_level=0.5, min_length=10, calm=2)
    ep.grow(1)
    codes = _codes(ep, [0.9] + [0.0] * 12)
    assert codes.count(Phase.START) == 1 and codes.index(Phase.END) == 10


def test_a_record_starts_a_new_episode_inside_an_open_one() -> None:
    """A range record is news even mid-episode: it is reported as a new start."""
    ep = EpisodeTracker(open_level=0.5, min_length=100, calm=2)
    ep.grow(1)
    codes = _codes(ep, [0.9, 0.95, 0.1, 0.95, 0.1], records={1, 3})
    # The record one sample after the start is the same onset; two samples on, news.
    assert codes == [Phase.START, Phase.ONGOING, Phase.ONGOING, Phase.START, Phase.ONGOING]


def test_since_is_the_start_of_the_run_of_anomalous_samples() -> None:
    """``since`` is the first of the consecutive samples at the open level; calm clears it."""
    ep = EpisodeTracker(open_level=0.5, min_length=100, calm=5)
    ep.grow(1)
    since = []
    for i, s in enumerate([0.1, 0.6, 0.95, 0.99, 0.2, 0.7]):
        step = ep.step(np.array([s]), YES, NO, np.array([10.0 * i]))
        since.append(float(step.since[0]))
    assert since[1:4] == [10.0, 10.0, 10.0]
    assert np.isnan(since[0]) and np.isnan(since[4]) and since[5] == 50.0


def test_missing_samples_leave_the_episode_untouched() -> None:
    """An invalid sample neither starts, continues nor ends an episode."""
    ep = EpisodeTracker(open_level=0.5, min_length=0, calm=1)
    ep.grow(1)
    ep.step(np.array([0.9]), YES, NO, np.array([0.0]))
    gap = ep.step(np.array([0.0]), NO, NO, np.array([1.0]))
    assert Phase(int(gap.code[0])) is Phase.NONE
    after = ep.step(np.array([0.0]), YES, NO, np.array([2.0]))
    assert Phase(int(after.code[0])) is Phase.END


def test_the_bank_reports_one_episode_start_for_a_sustained_fault() -> None:
    """A 5x latency jump lasting 60 samples is one start (then ongoing), not 60 reports."""
    rng = np.random.default_rng(0)
    bank = DetectorBank(DetectConfig())
    bank.update_arrays(np.array([np.nan]), 0.0)
    phases = []
    for i in range(700):
        v = 0.2 + 0.01 * rng.standard_normal()
        if 600 <= i < 660:
            v *= 5
        ev = bank.evidence(np.array([v]), 15.0 * i)
        assert ev.phase is not None
        phases.append(int(ev.phase[0]))
    fault = phases[600:660]
    assert fault[0] == Phase.START
    assert fault.count(Phase.START) == 1
    assert all(p == Phase.ONGOING for p in fault[1:])


def test_a_strong_sample_after_a_full_calm_spell_renews_a_held_open_episode() -> None:
    """Inside an episode kept open only by min_length, a calm spell then a sample at the
    renew level starts a new episode; a weaker one, or one without the calm, does not."""
    ep = EpisodeTracker(open_level=0.5, min_length=100, calm=3, renew_level=0.8)
    ep.grow(1)
    codes = _codes(ep, [0.9, 0.0, 0.0, 0.0, 0.6, 0.0, 0.0, 0.0, 0.85, 0.0, 0.9])
    assert [i for i, c in enumerate(codes) if c == Phase.START] == [0, 8]


def test_renewal_is_off_at_level_zero() -> None:
    """With renew_level 0 (the classic preset) min_length holds the episode open."""
    ep = EpisodeTracker(open_level=0.5, min_length=100, calm=3)
    ep.grow(1)
    codes = _codes(ep, [0.9, 0.0, 0.0, 0.0, 0.95])
    assert codes.count(Phase.START) == 1


# The series has shown values from 0 to 100: a renew margin of 0.01 is 1.0 in values.
SPAN = (np.array([0.0]), np.array([100.0]))


def _starts_with_values(tracker: EpisodeTracker, samples: list[tuple[float, float]]
                        ) -> list[int]:
    starts = []
    for i, (s, v) in enumerate(samples):
        step = tracker.step(np.array([s]), YES, NO, np.array([i * 1.0]),
                            value=np.array([v]), span=SPAN)
        if step.code[0] == Phase.START:
            starts.append(i)
    return starts


def test_renewal_needs_a_value_beyond_every_earlier_anomaly() -> None:
    """After a calm spell the same burst height again is the old pattern (no renewal);
    a strong sample beyond every earlier anomalous value, by the margin, renews."""
    calm = [(0.0, 1.0)] * 3
    ep = EpisodeTracker(open_level=0.5, min_length=100, calm=3, renew_level=0.8,
                        renew_margin=0.01)
    ep.grow(1)
    again = _starts_with_values(ep, [(0.9, 50.0), *calm, (0.95, 49.0), *calm, (0.9, 50.5)])
    assert again == [0]
    ep = EpisodeTracker(open_level=0.5, min_length=100, calm=3, renew_level=0.8,
                        renew_margin=0.01)
    ep.grow(1)
    higher = _starts_with_values(ep, [(0.9, 50.0), *calm, (0.9, 52.0)])
    below = _starts_with_values(ep, [*calm, (0.9, -3.0)])
    assert higher == [0, 4] and below == [3]


def test_a_weak_anomaly_widens_the_range_that_renewal_must_beat() -> None:
    """Every sample at the open level counts as an earlier anomaly, not only strong ones."""
    ep = EpisodeTracker(open_level=0.5, min_length=100, calm=3, renew_level=0.8)
    ep.grow(1)
    calm = [(0.0, 1.0)] * 3
    starts = _starts_with_values(ep, [(0.9, 50.0), (0.6, 80.0), *calm, (0.9, 70.0)])
    assert starts == [0]


def test_an_episode_snapshot_without_the_anomaly_range_loads_as_none_seen() -> None:
    """State saved before the anomaly range existed restores; the range starts empty."""
    ep = EpisodeTracker(open_level=0.5, min_length=100, calm=3, renew_level=0.8)
    ep.grow(1)
    _starts_with_values(ep, [(0.9, 50.0), (0.0, 1.0)])
    old = {k: v for k, v in ep.state().items() if k not in ("alo", "ahi")}
    fresh = EpisodeTracker(open_level=0.5, min_length=100, calm=3, renew_level=0.8)
    fresh.load(old)
    state = fresh.state()
    assert state["open"][0] == 1 and state["alo"][0] == np.inf and state["ahi"][0] == -np.inf
    assert _starts_with_values(fresh, [(0.0, 1.0)] * 2 + [(0.9, 50.0)]) == [2]


def test_the_bank_renews_an_episode_only_at_a_value_no_earlier_anomaly_reached() -> None:
    """Through the bank: after a calm spell, a spike to the height of an earlier one
    continues the held-open episode; a higher one (not a range record) renews it."""
    rng = np.random.default_rng(2)
    values = list(100.0 + rng.standard_normal(100))  # once at 100: the range reaches it
    values += list(10.0 + rng.standard_normal(160))  # a shift down, adopted in time
    spikes = {300: 50.0, 340: 50.0, 380: 80.0}
    values += [spikes.get(i, 10.0 + rng.standard_normal()) for i in range(260, 420)]
    bank = DetectorBank(DetectConfig())
    bank.update_arrays(np.array([np.nan]), 0.0)
    starts = []
    for i, v in enumerate(values):
        ev = bank.evidence(np.array([v]), np.array([60.0 * i]))  # all within one day
        assert ev.phase is not None
        if ev.phase[0] == Phase.START:
            starts.append(i)
    assert 300 in starts and 380 in starts and 340 not in starts
