"""The simulated cluster: workloads driven by a demand trace, a fault schedule, actions.

A :class:`World` integrates in fixed sub-steps on a grid anchored at its creation time,
so the same seed and the same sequence of calls give the same samples whatever the
polling rhythm, and a world restored from :meth:`World.to_state` continues exactly as
the original would have. It takes ``now`` everywhere and reads no clock.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from aiops.config.sources import SandboxConfig
from aiops.errors import PermanentError
from aiops.model import Action, Outcome, OutcomeStatus, Sample, Target, TargetState
from aiops.sim.actions import PLANNERS, Refused
from aiops.sim.faults import (
    BAD_CPU_FACTOR,
    BAD_LATENCY_FACTOR,
    Fault,
    FaultKind,
    schedule,
    surge_multiplier,
)
from aiops.sim.trace import Trace, load_trace, parse_time
from aiops.sim.workload import NOISE, Revision, Timing, WorkloadState
from aiops.sim.workloads import METRICS, NAMESPACE, TARGET_KIND, WORKLOADS

STATE_VERSION = 1
MAX_REMEMBERED_ACTIONS = 2000
INLINE_STEP = 1800.0  # spacing of a trace given as a bare sequence of values


def settings(config: SandboxConfig) -> dict[str, Any]:
    """The parts of the configuration a world is built from (compared on re-open)."""
    return {
        "trace": config.trace,
        "seed": config.seed,
        "start": config.start,
        "faults": config.faults,
        "fault_schedule": config.fault_schedule,
        "step": config.step,
        "startup_min": config.startup_min,
        "startup_max": config.startup_max,
    }


class World:
    """A deterministic simulated shop; see :mod:`aiops.sim` for the API."""

    def __init__(
        self,
        *,
        settings: dict[str, Any],
        trace: Trace,
        created_at: float,
        t: float,
        rng: np.random.Generator,
        workloads: dict[str, WorkloadState],
        faults: list[Fault],
        started: set[str],
        applied: dict[str, dict[str, Any]],
    ) -> None:
        self.settings = settings
        self.trace = trace
        self.created_at = created_at
        self.t = t
        self.trace_start = parse_time(str(settings["start"]))
        self.timing = Timing(
            step=float(settings["step"]),
            startup_min=float(settings["startup_min"]),
            startup_max=float(settings["startup_max"]),
        )
        self._rng = rng
        self._workloads = workloads
        self._faults = faults
        self._started = started
        self._applied = applied
        self.lock = threading.RLock()

    @classmethod
    def create(
        cls,
        config: SandboxConfig,
        *,
        now: float,
        trace: Trace | Sequence[float] | None = None,
    ) -> World:
        """A fresh, settled world at ``now`` (trace loaded from ``config.trace`` if None)."""
        conf = settings(config)
        if trace is None:
            trace = load_trace(config.trace)
        elif not isinstance(trace, Trace):
            trace = _inline_trace(trace, start=parse_time(config.start))
        name = config.fault_schedule if config.faults else "none"
        world = cls(
            settings=conf,
            trace=trace,
            created_at=now,
            t=now,
            rng=np.random.default_rng(config.seed),
            workloads={n: WorkloadState.create(s, now=now) for n, s in WORKLOADS.items()},
            faults=list(schedule(name, created_at=now)),
            started=set(),
            applied={},
        )
        world._step(now, 0.0)
        return world

    # -- reading -------------------------------------------------------------------

    @property
    def faults(self) -> tuple[Fault, ...]:
        """The fault schedule with what is known so far about each fault's healing."""
        return tuple(self._faults)

    def fault(self, name: str) -> Fault:
        return next(f for f in self._faults if f.name == name)

    @property
    def targets(self) -> tuple[Target, ...]:
        return tuple(ws.spec.target for ws in self._workloads.values())

    def metrics(self, workload: str) -> dict[str, float]:
        """The latest values of every series of ``workload``."""
        return dict(self._workloads[workload].metrics)

    def trace_position(self, now: float) -> float:
        """Trace time shown at world time ``now``: trace start + time since creation."""
        return self.trace_start + (now - self.created_at)

    def demand_level(self, now: float) -> float:
        """Trace level at ``now`` relative to the trace median (1.0 = typical)."""
        return self.trace.level(self.trace_position(now)) / self.trace.reference

    def demand_history(self, start: float, end: float, step: float) -> list[Sample]:
        """``request_rate`` of every workload before the world was created.

        The trace is the cluster's request history: what each workload served at
        ``[start, min(end, created_at))`` every ``step`` seconds, with the same AR(1)
        noise as live demand from its own seeded generator (live state is untouched,
        and the same call always returns the same history).
        """
        end = min(end, self.created_at)
        if step <= 0 or end <= start:
            return []
        phi, sd = NOISE[0]
        rng = np.random.default_rng(int(self.settings["seed"]) + 1)
        times = np.arange(start, end, step)
        out: list[Sample] = []
        for name, ws in self._workloads.items():
            z, noise = rng.standard_normal(len(times)), 0.0
            for i, t in enumerate(times):
                noise = phi * noise + math.sqrt(1.0 - phi * phi) * sd * float(z[i])
                value = ws.spec.base_rps * self.demand_level(float(t)) * math.exp(noise)
                out.append(Sample(key=WORKLOADS[name].key("request_rate"), t=float(t), value=value))
        out.sort(key=lambda s: s.t)
        return out

    # -- time ----------------------------------------------------------------------

    def advance(self, now: float) -> None:
        """Integrate in fixed sub-steps up to the last grid point not after ``now``."""
        with self.lock:
            step = self.timing.step
            while self.t + step <= now + 1e-9:
                self._step(self.t + step, step)

    def _step(self, t: float, dt: float) -> None:
        self.t = t
        self._fire_events(t)
        z = self._rng.standard_normal((len(self._workloads), len(NOISE)))
        level = self.demand_level(t)
        for i, ws in enumerate(self._workloads.values()):
            name = ws.spec.name
            ws.step(
                t,
                dt,
                demand=ws.spec.base_rps * level * self._surge(name, t),
                leaking=self._active(FaultKind.MEMORY_LEAK, name, t) is not None,
                crashing=self._active(FaultKind.CRASH_LOOP, name, t) is not None,
                rng=self._rng,
                z=z[i],
            )

    def _fire_events(self, t: float) -> None:
        for f in self._faults:
            if f.kind is FaultKind.BAD_ROLLOUT and f.name not in self._started and f.started(t):
                self._started.add(f.name)
                ws = self._workloads[f.workload]
                number = max(r.number for r in ws.revisions) + 1
                ws.revisions.append(
                    Revision(
                        number=number,
                        image=ws.spec.image.rsplit(":", 1)[0] + f":1.{number - 1}.0",
                        created_at=t,
                        latency_factor=BAD_LATENCY_FACTOR,
                        cpu_factor=BAD_CPU_FACTOR,
                    )
                )
                ws.roll(number, t, self._rng, self.timing)
                ws.changed_at, ws.last_change, ws.rolled_back_from = t, "rollout", None

    def _surge(self, workload: str, t: float) -> float:
        m = 1.0
        for f in self._faults:
            if f.kind is FaultKind.TRAFFIC_SURGE and f.workload == workload:
                m *= surge_multiplier(f, t)
        return m

    def _active(self, kind: FaultKind, workload: str, t: float) -> Fault | None:
        for f in self._faults:
            if f.kind is kind and f.workload == workload and f.active(t):
                return f
        return None

    @property
    def rng(self) -> np.random.Generator:
        """The world's one random generator (its state is part of :meth:`to_state`)."""
        return self._rng

    def heal(self, kind: FaultKind, workload: str, now: float, action: Action) -> None:
        """Mark the active fault of ``kind`` on ``workload`` healed by ``action``."""
        fault = self._active(kind, workload, now)
        if fault is not None:
            self._faults[self._faults.index(fault)] = fault.healed(now=now, by=action.id)

    # -- the outside view ----------------------------------------------------------

    def samples(self, now: float) -> list[Sample]:
        """Advance to ``now`` and return every series' latest value stamped ``now``."""
        with self.lock:
            self.advance(now)
            return [
                Sample(key=ws.spec.key(m), t=now, value=ws.metrics[m])
                for ws in self._workloads.values()
                for m in METRICS
            ]

    def observe(self, target: Target, now: float) -> TargetState:
        """Replicas, readiness and revision history of ``target`` at ``now``."""
        with self.lock:
            ws = self._find(target)
            if ws is None:
                return TargetState(target=target, exists=False)
            self.advance(now)
            previous = ws.previous_revision()
            return TargetState(
                target=target,
                replicas=ws.replicas,
                ready_replicas=ws.ready_count(now),
                revision=ws.revision,
                rollout_in_progress=ws.rollout_in_progress,
                changed_at=ws.changed_at,
                details={
                    "image": ws.current().image,
                    "last_change": ws.last_change,
                    "previous_revision": previous.number if previous else None,
                    "rolled_back_from": ws.rolled_back_from,
                    "restarted_at": ws.restarted_at,
                    "restarts": sum(p.restarts for p in ws.pods),
                    "pods": [p.name for p in ws.pods],
                },
            )

    def applied(self, action_id: str) -> dict[str, Any] | None:
        """What the world remembers of action ``action_id`` (kind, target, t), if applied."""
        with self.lock:
            seen = self._applied.get(action_id)
            return dict(seen) if seen is not None else None

    def apply(self, action: Action, now: float) -> Outcome:
        """Apply ``action`` at ``now``: idempotent on its id, inert when ``dry_run``.

        Raises :class:`PermanentError` for an unknown target, kind or bad parameters.
        A refused rollback returns ``FAILED`` with the reason and changes nothing.
        """
        with self.lock:
            ws = self._find(action.target)
            if ws is None:
                raise PermanentError(f"no such sandbox workload: {action.target}")
            planner = PLANNERS.get(action.kind)
            if planner is None:
                raise PermanentError(f"sandbox cannot {action.kind!r}")
            self.advance(now)
            before = ws.summary(now)
            if action.id in self._applied:
                seen = self._applied[action.id]
                return Outcome(
                    action_id=action.id,
                    status=OutcomeStatus.ALREADY_DONE,
                    message=f"action {action.id} was already applied at t={seen['t']:.0f}",
                    before=before,
                    after=before,
                )
            try:
                change = planner(self, ws, action, now)
            except Refused as exc:
                return Outcome(
                    action_id=action.id,
                    status=OutcomeStatus.FAILED,
                    message=f"refused: {exc}",
                    before=before,
                    after=before,
                )
            if action.dry_run:
                return Outcome(
                    action_id=action.id,
                    status=OutcomeStatus.DRY_RUN,
                    message=f"would have {change.message}",
                    before=before,
                    after=change.after,
                )
            change.apply()
            self._remember(action, now)
            return Outcome(
                action_id=action.id,
                status=OutcomeStatus.DONE,
                message=change.message,
                before=before,
                after={**change.after, **ws.summary(now)},
            )

    def _find(self, target: Target) -> WorkloadState | None:
        if target.kind != TARGET_KIND or target.namespace != NAMESPACE:
            return None
        return self._workloads.get(target.name)

    def _remember(self, action: Action, now: float) -> None:
        self._applied[action.id] = {"kind": action.kind, "target": str(action.target), "t": now}
        while len(self._applied) > MAX_REMEMBERED_ACTIONS:
            del self._applied[next(iter(self._applied))]

    # -- state ---------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        """Everything needed to continue this world, as JSON-serializable data."""
        with self.lock:
            return {
                "version": STATE_VERSION,
                "settings": dict(self.settings),
                "trace": {"spec": self.trace.spec, "fingerprint": self.trace.fingerprint},
                "created_at": self.created_at,
                "t": self.t,
                "rng": self._rng.bit_generator.state,
                "workloads": [ws.to_dict() for ws in self._workloads.values()],
                "faults": [f.to_dict() for f in self._faults],
                "started": sorted(self._started),
                "applied": dict(self._applied),
            }

    @classmethod
    def from_state(cls, state: dict[str, Any], *, trace: Trace | None = None) -> World:
        """Rebuild a world saved by :meth:`to_state`; it continues identically."""
        if state.get("version") != STATE_VERSION:
            raise PermanentError(f"unsupported sandbox state version {state.get('version')!r}")
        spec = str(state["trace"]["spec"])
        if trace is None:
            if spec == "inline":
                raise PermanentError("this world ran on an inline trace; pass it to from_state")
            trace = load_trace(spec)
        if trace.fingerprint != state["trace"]["fingerprint"]:
            raise PermanentError(f"trace {spec!r} changed since this world was saved")
        rng = np.random.Generator(np.random.PCG64())
        rng.bit_generator.state = state["rng"]
        return cls(
            settings=dict(state["settings"]),
            trace=trace,
            created_at=float(state["created_at"]),
            t=float(state["t"]),
            rng=rng,
            workloads={
                d["name"]: WorkloadState.from_dict(d) for d in state["workloads"]
            },
            faults=[Fault.from_dict(f) for f in state["faults"]],
            started=set(state["started"]),
            applied={str(k): dict(v) for k, v in state["applied"].items()},
        )


def _inline_trace(values: Sequence[float], *, start: float) -> Trace:
    times = start + INLINE_STEP * np.arange(len(values), dtype=np.float64)
    return Trace(spec="inline", times=times, values=np.asarray(values, dtype=np.float64))
