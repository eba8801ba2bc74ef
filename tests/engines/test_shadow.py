"""Shadow candidates beside live on the same samples: journaled episodes and would-be
decisions, never an incident or an action."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from aiops.actuators.record import RecordingActuator
from aiops.config.detect import DetectConfig
from aiops.config.models import ShadowSettings
from aiops.detect.bank import DetectorBank
from aiops.engines.facts import FactsReader
from aiops.engines.shadow import ShadowWriter
from aiops.engines.shadow_detect import ShadowDetectors
from aiops.engines.shadow_window import read_window
from aiops.journal import Journal, JournalWriteError
from aiops.model import Reason, ReasonCode, Sample, SeriesKey
from aiops.telemetry.logging import get_logger
from tests.runbook.factories import LADDER, runbook

SENSITIVE = LADDER.replace("name: ladder", "name: sensitive").replace(
    "score_above: 0.9", "score_above: 0.5").replace("mode: auto", "mode: approve")
KEYS = [SeriesKey.of("latency_p99", namespace="shop", workload=w) for w in ("big", "small")]


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "journal.sqlite")


def shadow(journal: Journal, live: DetectConfig) -> ShadowDetectors:
    log = get_logger("test")
    lax = live.model_copy(update={"signal_floor": 0.5})
    facts = FactsReader(journal=journal, actuator=RecordingActuator(replicas=2), log=log)
    return ShadowDetectors(
        live=live, live_version="detector-live", candidates={"lax": ("detector-lax", lax)},
        runbooks=[runbook(LADDER), runbook(SENSITIVE)], facts=facts.facts,
        writer=ShadowWriter(journal=journal, log=log), settings=ShadowSettings(), log=log,
        run=0.0)


def feed(sh: ShadowDetectors, live: DetectorBank) -> None:
    """200 quiet cycles, then one 12-sigma spike on big and a 6-sigma one on small."""
    rng = np.random.default_rng(1)
    for i in range(210):
        t = 15.0 * i
        spike = i == 180
        samples = [Sample(key=k, t=t, value=float(1 + (0.05 * m if spike else 0)
                                                  + rng.normal(0, 0.05)))
                   for k, m in zip(KEYS, (12, 6), strict=True)]
        sh.scored(t, samples, live.update(samples), 0.001)
    sh.close(210 * 15.0)


def test_a_lower_floor_journals_extra_episodes_with_would_be_decisions(journal: Journal) -> None:
    """The lax candidate raises the small spike live ignores; both are journaled, the
    candidate's with what each runbook would have decided; no incident, no action."""
    live_cfg = DetectConfig()
    sh = shadow(journal, live_cfg)
    feed(sh, DetectorBank(live_cfg))
    window = read_window(journal)
    by_model: dict[str, set[str]] = {}
    for r in window.episodes:
        by_model.setdefault(r.model, set()).add(r.episode.series)
    assert by_model["live"] == {str(KEYS[0])}
    assert by_model["lax"] == {str(KEYS[0]), str(KEYS[1])}
    small = next(r for r in window.episodes
                 if r.model == "lax" and r.episode.series == str(KEYS[1]))
    assert [(d.runbook, d.decision) for d in small.decisions] == [("sensitive", "await-approval")]
    big = next(r for r in window.episodes if r.model == "lax" and r.episode.series == str(KEYS[0]))
    assert {(d.runbook, d.decision) for d in big.decisions} == {
        ("ladder", "run"), ("sensitive", "await-approval")}
    assert journal.incidents() == [] and journal.changes_since(0.0) == 0
    [c] = window.comparisons()
    assert c.matched == 1 and [r.episode.series for r in c.only_candidate] == [str(KEYS[1])]
    assert c.candidate.cycles == c.live.cycles == 210
    assert all(e.incident is None for e in journal.events(limit=1000))


def test_the_shadow_never_fails_the_cycle_when_the_journal_refuses(tmp_path: Path) -> None:
    """With the journal full, episodes wait (bounded) and the cycles go on; once it takes
    writes again, the waiting episodes are written."""
    path = tmp_path / "full.sqlite"
    Journal(path).close()
    pages = sqlite3.connect(path).execute("PRAGMA page_count").fetchone()[0]
    full = Journal(path, max_page_count=pages + 1)
    with pytest.raises(JournalWriteError):  # fill it up
        for i in range(1000):
            with full.transaction() as tx:
                tx.event(t=0.0, kind="filler", why=Reason(code=ReasonCode.OPERATOR, message="x"),
                         detail={"pad": "z" * 900, "i": i})
    live_cfg = DetectConfig()
    sh = shadow(full, live_cfg)
    feed(sh, DetectorBank(live_cfg))  # raises nothing though every write fails
    assert [e for e in full.events(limit=2000) if e.kind == "shadow"] == []
    assert len(sh.writer.pending) >= 3
    full.close()
    sh.writer.journal = Journal(path)
    sh.writer.flush()
    assert len([e for e in sh.writer.journal.events(limit=100) if e.kind == "shadow"]) >= 3
