"""One workload's live state: pods, revisions, rollouts, and its metrics each step.

Pods become ready a start-up delay after creation. A template change (rollout,
rollback, rollout restart) creates a full new set of pods and keeps the old ones
serving until the new set is ready (max-surge style), so a change takes effect after
the start-up delay, as in a Kubernetes Deployment. A crashed pod goes into
CrashLoopBackOff: not ready for ``10 s * 2^(restarts-1)`` (at most 300 s) plus a
20 s warm-up.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from aiops.sim.faults import LEAK_BYTES_PER_S
from aiops.sim.queueing import latency_factor, shed_fraction, utilization
from aiops.sim.workloads import WORKLOADS, WorkloadSpec

RESTART_WARMUP = 20.0
MAX_BACKOFF = 300.0
CRASH_AFTER = (10.0, 40.0)  # a crash-looping pod runs this long before it dies
CRASH_ERRORS = 0.05  # share of requests lost per pod crash within a step

#: AR(1) noise per workload: (persistence, standard deviation) of a log-multiplier for
#: demand, latency, CPU, memory and error rate, in that order.
NOISE = ((0.95, 0.03), (0.6, 0.05), (0.6, 0.03), (0.9, 0.004), (0.5, 0.25))


@dataclass(frozen=True, kw_only=True, slots=True)
class Timing:
    """Sub-step length and the range of pod start-up delays, in seconds."""

    step: float = 5.0
    startup_min: float = 60.0
    startup_max: float = 90.0


@dataclass(kw_only=True, slots=True)
class Pod:
    """One pod; ``old`` pods belong to a template being replaced."""

    name: str
    revision: int
    created_at: float
    ready_at: float
    restarts: int = 0
    leak: float = 0.0
    crash_at: float | None = None
    old: bool = False

    def ready(self, t: float) -> bool:
        return self.ready_at <= t


@dataclass(frozen=True, kw_only=True, slots=True)
class Revision:
    """One pod template revision (a ReplicaSet) and how it behaves."""

    number: int
    image: str
    created_at: float
    latency_factor: float = 1.0
    cpu_factor: float = 1.0


@dataclass(kw_only=True, slots=True)
class WorkloadState:
    """Mutable state of one workload; only :class:`aiops.sim.world.World` changes it."""

    spec: WorkloadSpec
    replicas: int
    revision: int
    revisions: list[Revision]
    pods: list[Pod] = field(default_factory=list)
    changed_at: float | None = None
    last_change: str = "created"
    rolled_back_from: int | None = None
    restarted_at: float | None = None
    serial: int = 0
    noise: list[float] = field(default_factory=lambda: [0.0] * len(NOISE))
    metrics: dict[str, float] = field(default_factory=dict)

    @classmethod
    def create(cls, spec: WorkloadSpec, *, now: float) -> WorkloadState:
        """A settled workload: ``spec.replicas`` pods of revision 1, all ready."""
        ws = cls(
            spec=spec,
            replicas=spec.replicas,
            revision=1,
            revisions=[Revision(number=1, image=spec.image, created_at=now)],
        )
        for _ in range(spec.replicas):
            ws.pods.append(ws._pod(now=now, ready_at=now))
        return ws

    # -- reading -----------------------------------------------------------------

    def current(self) -> Revision:
        return self.find_revision(self.revision)

    def find_revision(self, number: int) -> Revision:
        for r in self.revisions:
            if r.number == number:
                return r
        raise KeyError(number)

    def previous_revision(self) -> Revision | None:
        """The revision listed before the current one, if any."""
        idx = [r.number for r in self.revisions].index(self.revision)
        return self.revisions[idx - 1] if idx > 0 else None

    def ready_count(self, t: float) -> int:
        return sum(1 for p in self.pods if p.ready(t))

    @property
    def rollout_in_progress(self) -> bool:
        return any(p.old for p in self.pods)

    def summary(self, t: float) -> dict[str, Any]:
        """The fields an Outcome shows before and after an action."""
        return {
            "replicas": self.replicas,
            "ready_replicas": self.ready_count(t),
            "revision": self.revision,
            "image": self.current().image,
            "rollout_in_progress": self.rollout_in_progress,
        }

    def least_healthy(self, t: float) -> Pod:
        """Not ready first, then most restarts, then most memory, then newest."""
        return max(self.pods, key=lambda p: (not p.ready(t), p.restarts, p.leak, p.created_at))

    # -- changing ----------------------------------------------------------------

    def _pod(self, *, now: float, ready_at: float, revision: int | None = None) -> Pod:
        self.serial += 1
        rev = self.revision if revision is None else revision
        return Pod(
            name=f"{self.spec.name}-r{rev}-{self.serial:05d}",
            revision=rev,
            created_at=now,
            ready_at=ready_at,
        )

    def _new_pod(self, now: float, rng: np.random.Generator, timing: Timing) -> Pod:
        delay = float(rng.uniform(timing.startup_min, timing.startup_max))
        return self._pod(now=now, ready_at=now + delay)

    def scale_to(self, replicas: int, now: float, rng: np.random.Generator, timing: Timing) -> None:
        """Add pods (ready after start-up) or remove the least useful ones."""
        self.replicas = replicas
        live = [p for p in self.pods if not p.old]
        for _ in range(replicas - len(live)):
            self.pods.append(self._new_pod(now, rng, timing))
        surplus = len(live) - replicas
        if surplus > 0:
            doomed = sorted(live, key=lambda p: (p.ready(now), -p.created_at))[:surplus]
            names = {p.name for p in doomed}
            self.pods = [p for p in self.pods if p.name not in names]

    def roll(self, revision: int, now: float, rng: np.random.Generator, timing: Timing) -> None:
        """Replace every pod with a new one of ``revision`` (old ones serve meanwhile)."""
        self.revision = revision
        for p in self.pods:
            p.old = True
        for _ in range(self.replicas):
            self.pods.append(self._new_pod(now, rng, timing))

    def delete_pod(self, name: str, now: float, rng: np.random.Generator, timing: Timing) -> Pod:
        """Delete pod ``name``; a pod of the current set is replaced by a new one."""
        pod = next(p for p in self.pods if p.name == name)
        self.pods.remove(pod)
        if not pod.old:
            self.pods.append(self._new_pod(now, rng, timing))
        return pod

    # -- time --------------------------------------------------------------------

    def step(
        self,
        t: float,
        dt: float,
        *,
        demand: float,
        leaking: bool,
        crashing: bool,
        rng: np.random.Generator,
        z: npt.NDArray[np.float64],
    ) -> None:
        """Advance pods by ``dt`` to time ``t`` and recompute the metrics."""
        spec = self.spec
        for i, (phi, sd) in enumerate(NOISE):
            self.noise[i] = phi * self.noise[i] + math.sqrt(1.0 - phi * phi) * sd * float(z[i])
        crashes = 0
        for p in self.pods:
            if leaking and p.ready(t):
                p.leak += LEAK_BYTES_PER_S * dt
                if spec.memory_base + p.leak >= spec.memory_limit:  # OOM-killed
                    _crash(p, t)
                    crashes += 1
            if not crashing:
                p.crash_at = None
            elif p.ready(t):
                if p.crash_at is None:
                    p.crash_at = t + float(rng.uniform(*CRASH_AFTER))
                elif p.crash_at <= t:
                    _crash(p, t)
                    crashes += 1
        if self.rollout_in_progress and sum(
            1 for p in self.pods if not p.old and p.ready(t)
        ) >= self.replicas:
            self.pods = [p for p in self.pods if not p.old]
        self.metrics = self._metrics(t, demand * math.exp(self.noise[0]), crashes)

    def _metrics(self, t: float, demand: float, crashes: int) -> dict[str, float]:
        spec = self.spec
        ready = [p for p in self.pods if p.ready(t)]
        n = len(ready)
        capacity = n * spec.capacity_per_pod
        u = utilization(demand=demand, capacity=capacity)
        shed = shed_fraction(demand=demand, capacity=capacity)
        served = demand * (1.0 - shed)
        lat_rev = 1.0
        cpu_rev = 1.0
        if n:
            revs = {r.number: r for r in self.revisions}
            lat_rev = sum(revs[p.revision].latency_factor for p in ready) / n
            cpu_rev = sum(revs[p.revision].cpu_factor for p in ready) / n
        per_pod = served / n if n else 0.0
        cpu = spec.cpu_idle + spec.cpu_per_request * cpu_rev * per_pod
        leak = sum(p.leak for p in ready) / n if n else 0.0
        memory = spec.memory_base + spec.memory_per_rps * per_pod + leak
        errors = spec.error_floor * math.exp(self.noise[4]) + shed + CRASH_ERRORS * crashes
        nz = self.noise
        return {
            "cpu_usage": cpu * math.exp(nz[2]),
            "memory_usage": memory * math.exp(nz[3]),
            "latency_p99": spec.base_latency * lat_rev * latency_factor(u) * math.exp(nz[1]),
            "request_rate": demand,
            "error_rate": min(1.0, errors),
            "ready_replicas": float(n),
        }

    # -- state -------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.spec.name,
            "replicas": self.replicas,
            "revision": self.revision,
            "revisions": [asdict(r) for r in self.revisions],
            "pods": [asdict(p) for p in self.pods],
            "changed_at": self.changed_at,
            "last_change": self.last_change,
            "rolled_back_from": self.rolled_back_from,
            "restarted_at": self.restarted_at,
            "serial": self.serial,
            "noise": list(self.noise),
            "metrics": dict(self.metrics),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> WorkloadState:
        return cls(
            spec=WORKLOADS[d["name"]],
            replicas=int(d["replicas"]),
            revision=int(d["revision"]),
            revisions=[Revision(**r) for r in d["revisions"]],
            pods=[Pod(**p) for p in d["pods"]],
            changed_at=d["changed_at"],
            last_change=str(d["last_change"]),
            rolled_back_from=d["rolled_back_from"],
            restarted_at=d["restarted_at"],
            serial=int(d["serial"]),
            noise=[float(x) for x in d["noise"]],
            metrics={str(k): float(v) for k, v in d["metrics"].items()},
        )


def _crash(p: Pod, t: float) -> None:
    """The container died: count a restart, lose its memory, back off before ready."""
    p.restarts += 1
    p.leak = 0.0
    p.crash_at = None
    p.ready_at = t + min(10.0 * 2.0 ** min(p.restarts - 1, 30), MAX_BACKOFF) + RESTART_WARMUP
