"""What shadow runs share: would-be decisions, the journal writer, running figures.

Shadow candidates (``detect.candidates``, ``forecast.candidates``) run beside the live
models on the same samples (:mod:`aiops.engines.shadow_detect`,
:mod:`aiops.engines.shadow_forecast`). What a candidate would have done is computed by
the pure runbook core, :func:`~aiops.runbook.match.match_signal` then
:func:`~aiops.runbook.planner.plan`, on the engine's guard facts (read, never
written); the remediation engine never sees a candidate's signal, so nothing a
candidate raises can act. Everything is journaled as timeline events of kind
``shadow`` without an incident (format: :mod:`aiops.models.shadow_records`): one per
episode when it ends, and one summary per model every ``models.shadow.summary_every``.
A failing journal write is logged and retried with the next cycle's events (at most
:data:`MAX_PENDING` wait); the shadow never fails the live loop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from aiops.errors import AiopsError
from aiops.journal import Journal
from aiops.model import Plan, Reason, ReasonCode, Signal, Target
from aiops.models.episodes import Episode
from aiops.models.shadow_records import (
    EVENT_KIND,
    LIVE,
    SummaryRecord,
    WouldBe,
    episode_detail,
    summary_detail,
)
from aiops.models.versions import ModelKind
from aiops.runbook.guards import GuardFacts
from aiops.runbook.match import Match, TargetFailure, match_signal
from aiops.runbook.planner import plan
from aiops.runbook.schema import Runbook

Log = structlog.typing.FilteringBoundLogger
#: The engine's guard facts for a runbook and target at a time (read-only).
FactsFn = Callable[[Runbook, Target, float], GuardFacts]
#: Events waiting for a journal that refused a write, at most (the oldest are dropped).
MAX_PENDING = 2000
#: Runbook matches tried per model per cycle at most (a flood of open episodes waits).
MAX_MATCHES = 500


def would_be(
    runbooks: Sequence[Runbook], signal: Signal, now: float, *, facts: FactsFn,
    mode_override: str | None, skip: frozenset[str] = frozenset(),
) -> list[WouldBe]:
    """What each runbook (not in ``skip``) whose trigger fits ``signal`` would decide."""
    out = []
    for rb in runbooks:
        if rb.name in skip:
            continue
        try:
            m = match_signal(rb, signal, now)
            if isinstance(m, str):
                continue
            if isinstance(m, TargetFailure):
                out.append(WouldBe(runbook=rb.name, decision="skip", code=m.reason.code.value,
                                   target="", reason=m.reason.message))
                continue
            out.append(_from_plan(m, _plan(m, facts, now, mode_override)))
        except Exception as exc:  # one runbook's failure must not hide the others
            out.append(WouldBe(runbook=rb.name, decision="skip",
                               code=ReasonCode.RUNBOOK_ERROR.value, target="",
                               reason=f"runbook {rb.name} failed on the candidate's signal: "
                               f"{exc!r}"[:300]))
    return out


def _plan(m: Match, facts: FactsFn, now: float, mode_override: str | None) -> Plan:
    try:
        gathered = facts(m.runbook, m.target, now)
    except AiopsError:
        gathered = GuardFacts()
    return plan(m, gathered, now, mode_override)


def _from_plan(m: Match, p: Plan) -> WouldBe:
    return WouldBe(runbook=p.runbook, decision=p.decision.value, code=p.reason.code.value,
                   target=str(m.target), reason=p.reason.message)


@dataclass(kw_only=True, slots=True)
class Figures:
    """A model's running totals in this daemon run."""

    cycles: int = 0
    seconds: float = 0.0
    samples: int = 0
    episodes: int = 0

    def count(self, seconds: float, samples: int) -> None:
        self.cycles += 1
        self.seconds += seconds
        self.samples += samples


@dataclass(kw_only=True, slots=True)
class ShadowWriter:
    """Buffers shadow events and writes each cycle's in one journal transaction."""

    journal: Journal
    log: Log
    pending: list[dict[str, Any]] = field(default_factory=list)
    dropped: int = 0
    _failing: bool = False

    def episode(self, *, kind: ModelKind, version: str, episode: Episode,
                decisions: Sequence[WouldBe]) -> None:
        """Journal an episode (with the decisions it would have led to)."""
        acted = next((d for d in decisions if d.decision != "skip"), None)
        where = "open at stop" if not episode.closed else "ended"
        what = (f"would have {acted.decision} {acted.runbook} on {acted.target}" if acted
                else "; ".join(f"{d.runbook}: {d.decision} ({d.code})" for d in decisions)
                or "no runbook matched")
        if episode.model == LIVE:
            what = "the engine decided on its signals"
        self._add(t=episode.end, code=ReasonCode.SHADOW_EPISODE,
                  message=f"{episode.model}: {kind.value} episode on {episode.series} {where} "
                  f"(peak {episode.peak:.3g}, {episode.samples} samples); {what}",
                  runbook=acted.runbook if acted else "", target=acted.target if acted else "",
                  detail=episode_detail(kind=kind, version=version, episode=episode,
                                        decisions=decisions))

    def summary(self, s: SummaryRecord) -> None:
        """Journal a model's running figures."""
        per = s.seconds / s.cycles * 1e3 if s.cycles else 0.0
        self._add(t=s.t, code=ReasonCode.SHADOW_SUMMARY,
                  message=f"{s.model} ({s.kind.value} {s.version}): {s.cycles} cycles, "
                  f"{per:.2f} ms per cycle, {s.episodes} episodes", runbook="", target="",
                  detail=summary_detail(s))

    def flush(self) -> None:
        """Write what is pending in one transaction (kept for the next try if it fails)."""
        if not self.pending:
            return
        try:
            with self.journal.transaction() as tx:
                for e in self.pending:
                    tx.event(t=e["t"], kind=EVENT_KIND, why=e["why"], runbook=e["runbook"],
                             target=e["target"], detail=e["detail"])
        except AiopsError as exc:
            if not self._failing:
                self.log.warning("shadow_journal_failed", error=str(exc),
                                 pending=len(self.pending))
            self._failing = True
            if len(self.pending) > MAX_PENDING:
                self.dropped += len(self.pending) - MAX_PENDING
                del self.pending[: len(self.pending) - MAX_PENDING]
            return
        self._failing = False
        self.pending.clear()

    def _add(self, *, t: float, code: ReasonCode, message: str, runbook: str, target: str,
             detail: Mapping[str, Any]) -> None:
        self.pending.append({"t": t, "why": Reason(code=code, message=message),
                             "runbook": runbook, "target": target, "detail": dict(detail)})


@dataclass(kw_only=True, slots=True)
class SummaryClock:
    """When the next summary is due (daemon time)."""

    every: float
    next_at: float | None = None

    def due(self, now: float) -> bool:
        if self.next_at is None:
            self.next_at = now + self.every
            return False
        if now < self.next_at:
            return False
        self.next_at = now + self.every
        return True
