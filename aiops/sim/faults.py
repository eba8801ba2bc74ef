"""The fault schedule as data: what goes wrong, where, when, and what heals it.

Offsets are seconds after the world was created. The default schedule leaves the first
25 minutes fault-free (detectors warm up) and spaces the faults 20 minutes apart, all
inside the first two simulated hours:

===========  ===============  ===========  =========================================
offset       fault            workload     healed by
===========  ===============  ===========  =========================================
25 min       memory_leak      cart         ``restart`` (fresh pods, leak fixed)
45 min       bad_rollout      checkout     ``rollback`` (back to revision 1)
65-100 min   traffic_surge    frontend     ``scale`` to enough replicas (or its end)
105 min      crash_loop       payments     ``restart`` (``delete_pod`` does not)
===========  ===============  ===========  =========================================

>>> [str(f.kind) for f in schedule("default", created_at=0.0)][:2]
['memory_leak', 'bad_rollout']
>>> schedule("none", created_at=0.0)
()
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any

from aiops.errors import ConfigError


class FaultKind(StrEnum):
    MEMORY_LEAK = "memory_leak"
    BAD_ROLLOUT = "bad_rollout"
    TRAFFIC_SURGE = "traffic_surge"
    CRASH_LOOP = "crash_loop"


#: Which action kind heals each fault.
HEALED_BY: dict[FaultKind, str] = {
    FaultKind.MEMORY_LEAK: "restart",
    FaultKind.BAD_ROLLOUT: "rollback",
    FaultKind.TRAFFIC_SURGE: "scale",
    FaultKind.CRASH_LOOP: "restart",
}

LEAK_BYTES_PER_S = 10.0 * 1024 * 1024 / 60.0  # 10 MiB a minute per pod
BAD_LATENCY_FACTOR = 4.0  # revision 2 of checkout: p99 x4
BAD_CPU_FACTOR = 1.3
SURGE_MULTIPLIER = 3.0
SURGE_RAMP = 120.0  # seconds to ramp up (and down)


@dataclass(frozen=True, kw_only=True, slots=True)
class Fault:
    """One scheduled fault and, once known, when and by which action it was healed.

    ``end`` is when the fault passes by itself (only the surge does; None otherwise);
    ``healed_at`` is when the healing action was applied (its effect shows once the
    new pods are ready, 60-90 s later).
    """

    name: str
    kind: FaultKind
    workload: str
    start: float
    end: float | None = None
    healed_at: float | None = None
    healed_by: str | None = None
    description: str = ""

    @property
    def heals_with(self) -> str:
        return HEALED_BY[self.kind]

    def started(self, now: float) -> bool:
        return now >= self.start

    def active(self, now: float) -> bool:
        """Whether the fault still hurts at ``now``: started, not healed, not over."""
        return (
            self.started(now)
            and self.healed_at is None
            and (self.end is None or now < self.end)
        )

    def resolved_at(self) -> float | None:
        """When the fault stopped: healed, or for a surge also its natural end."""
        if self.healed_at is not None:
            return self.healed_at
        return self.end

    def healed(self, *, now: float, by: str) -> Fault:
        return replace(self, healed_at=now, healed_by=by)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["kind"] = str(self.kind)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Fault:
        return cls(**{**d, "kind": FaultKind(d["kind"])})


_DEFAULT: tuple[tuple[str, FaultKind, str, float, float | None, str], ...] = (
    ("cart-memory-leak", FaultKind.MEMORY_LEAK, "cart", 25 * 60.0, None,
     "cart pods leak 10 MiB/min each until restarted (OOM-killed at the 1 GiB limit)"),
    ("checkout-bad-rollout", FaultKind.BAD_ROLLOUT, "checkout", 45 * 60.0, None,
     "checkout revision 2 is rolled out and raises p99 latency about 4x"),
    ("frontend-traffic-surge", FaultKind.TRAFFIC_SURGE, "frontend", 65 * 60.0, 35 * 60.0,
     "frontend demand triples for 35 minutes; 6 replicas cannot serve it"),
    ("payments-crash-loop", FaultKind.CRASH_LOOP, "payments", 105 * 60.0, None,
     "payments pods crash repeatedly (CrashLoopBackOff) until a rollout restart"),
)

SCHEDULES = ("default", "none")


def schedule(name: str, *, created_at: float) -> tuple[Fault, ...]:
    """The faults of schedule ``name`` for a world created at ``created_at``."""
    if name == "none":
        return ()
    if name != "default":
        raise ConfigError(f"unknown fault schedule {name!r}", field="source.sandbox.fault_schedule")
    return tuple(
        Fault(
            name=fault_name,
            kind=kind,
            workload=workload,
            start=created_at + offset,
            end=None if duration is None else created_at + offset + duration,
            description=text,
        )
        for fault_name, kind, workload, offset, duration, text in _DEFAULT
    )


def surge_multiplier(fault: Fault, now: float) -> float:
    """Demand multiplier of a traffic surge at ``now``: ramps up, holds, ramps down.

    >>> f = Fault(name="s", kind=FaultKind.TRAFFIC_SURGE, workload="w", start=0.0, end=1000.0)
    >>> surge_multiplier(f, -1.0), surge_multiplier(f, 60.0), surge_multiplier(f, 500.0)
    (1.0, 2.0, 3.0)
    """
    end = fault.end if fault.end is not None else float("inf")
    if now < fault.start or now >= end:
        return 1.0
    ramp = min((now - fault.start) / SURGE_RAMP, (end - now) / SURGE_RAMP, 1.0)
    return 1.0 + (SURGE_MULTIPLIER - 1.0) * ramp
