"""What a shadow run journals, and how it is read back. Pure: one format, both directions.

The daemon journals shadow runs as timeline events of kind :data:`EVENT_KIND` (no
incident; never acted on), with a reason code and a ``detail`` object:

* ``shadow-episode``: one episode of one model (``live`` or a candidate's name) that
  ended: the series (or workload), start, end, peak (score; for a forecaster, the most
  replicas it asked for above those running), and the would-be decisions: for each
  runbook whose trigger matched, what :func:`aiops.runbook.planner.plan` decided
  (run, dry-run, await approval, or skip and why), computed with the pure planner on
  the engine's facts, never by the engine;
* ``shadow-summary``: a model's running figures since the daemon started (``run``):
  cycles, seconds spent (cost), samples, episodes, and for a forecaster the running
  sums behind each workload's MASE and coverage (:mod:`aiops.models.forecast_quality`).

>>> from aiops.models.episodes import Episode
>>> ep = Episode(model="strict", series="cpu{}", start=1.0, end=2.0, peak=0.97, closed=True)
>>> d = episode_detail(kind=ModelKind.DETECTOR, version="detector-1", episode=ep, decisions=())
>>> parse_episode(d).episode == ep
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiops.models.episodes import Episode
from aiops.models.versions import ModelKind

EVENT_KIND = "shadow"
LIVE = "live"


@dataclass(frozen=True, kw_only=True, slots=True)
class WouldBe:
    """What one runbook would have decided on a candidate's signal."""

    runbook: str
    decision: str  # aiops.model.Decision value
    code: str  # the deciding reason's code
    target: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"runbook": self.runbook, "decision": self.decision, "code": self.code,
                "target": self.target, "reason": self.reason}


@dataclass(frozen=True, kw_only=True, slots=True)
class EpisodeRecord:
    """A journaled episode of one model."""

    kind: ModelKind
    version: str
    episode: Episode
    decisions: tuple[WouldBe, ...] = ()
    event_id: int = 0

    @property
    def model(self) -> str:
        return self.episode.model


@dataclass(frozen=True, kw_only=True, slots=True)
class SummaryRecord:
    """A model's running figures, journaled every ``models.shadow.summary_every``."""

    kind: ModelKind
    model: str
    version: str
    run: float  # when the daemon run started (figures are cumulative within a run)
    t: float
    cycles: int
    seconds: float
    samples: int
    episodes: int
    dropped: int = 0
    quality: Mapping[str, tuple[float, ...]] = field(default_factory=dict)


def episode_detail(
    *, kind: ModelKind, version: str, episode: Episode, decisions: Sequence[WouldBe]
) -> dict[str, Any]:
    """The ``detail`` of a ``shadow-episode`` event."""
    return {"kind": kind.value, "version": version, **episode.to_json(),
            "decisions": [d.to_json() for d in decisions]}


def summary_detail(s: SummaryRecord) -> dict[str, Any]:
    """The ``detail`` of a ``shadow-summary`` event."""
    return {"kind": s.kind.value, "model": s.model, "version": s.version, "run": s.run,
            "t": s.t, "cycles": s.cycles, "seconds": s.seconds, "samples": s.samples,
            "episodes": s.episodes, "dropped": s.dropped,
            "quality": {k: list(v) for k, v in s.quality.items()}}


def parse_episode(d: Mapping[str, Any], event_id: int = 0) -> EpisodeRecord:
    """Inverse of :func:`episode_detail` (a missing or mistyped field raises)."""
    decisions = tuple(
        WouldBe(runbook=str(x["runbook"]), decision=str(x["decision"]), code=str(x["code"]),
                target=str(x["target"]), reason=str(x.get("reason", "")))
        for x in d.get("decisions") or ())
    return EpisodeRecord(kind=ModelKind(d["kind"]), version=str(d["version"]),
                         episode=Episode.from_json(d), decisions=decisions, event_id=event_id)


def parse_summary(d: Mapping[str, Any]) -> SummaryRecord:
    """Inverse of :func:`summary_detail` (a missing or mistyped field raises)."""
    return SummaryRecord(
        kind=ModelKind(d["kind"]), model=str(d["model"]), version=str(d["version"]),
        run=float(d["run"]), t=float(d["t"]), cycles=int(d["cycles"]),
        seconds=float(d["seconds"]), samples=int(d["samples"]), episodes=int(d["episodes"]),
        dropped=int(d.get("dropped", 0)),
        quality={str(k): tuple(float(x) for x in v) for k, v in (d.get("quality") or {}).items()},
    )
