"""Honest readiness: each check named, any failing check fails ``/readyz``.

- ``source``: the last pull succeeded (no action is ever taken on missing data);
- ``journal``: the journal takes writes: a committed probe every few seconds, the last
  real transaction, and headroom (free disk, SQLite's page limit);
- ``loop``: a poll cycle *completed* within three intervals (a cycle that crashes every
  time, or stalls, fails this even though the scheduler still runs);
- ``remediation``: the remediate loop completed recently and is not stuck in one tick;
- ``scheduler`` (stopping), ``leader`` (standby replicas are not ready).

Times here are wall-clock monotonic seconds (``time.monotonic``), never the simulated
clock: readiness is about this process, now.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

#: A remediate tick running longer than this is a stall.
STALL_SECONDS = 30.0


@dataclass
class Heartbeats:
    """When each loop last completed (monotonic seconds), written by the loops."""

    poll_ok: float | None = None
    remediate_ok: float | None = None
    remediate_running_since: float | None = None
    journal_ok: float | None = None
    journal_error: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def beat(self, what: str, at: Any) -> None:
        with self.lock:
            setattr(self, what, at)


@dataclass(frozen=True, kw_only=True, slots=True)
class Limits:
    """How fresh each loop must be (real seconds)."""

    poll_every: float
    remediate_every: float
    journal_every: float = 5.0

    @property
    def poll_stale(self) -> float:
        return max(3 * self.poll_every, 1.0)

    @property
    def remediate_stale(self) -> float:
        return max(3 * self.remediate_every, STALL_SECONDS)


def loop_check(name: str, last_ok: float | None, started: float, now: float,
               stale_after: float) -> str:
    """'ok', or why the loop ``name`` is not fresh."""
    age = now - (last_ok if last_ok is not None else started)
    if age <= stale_after:
        return "ok" if last_ok is not None else "starting"
    if last_ok is None:
        return f"no {name} completed in {age:.0f}s since start"
    return f"stale: last {name} completed {age:.0f}s ago (limit {stale_after:.0f}s)"


def remediation_check(beats: Heartbeats, started: float, now: float, limits: Limits) -> str:
    running = beats.remediate_running_since
    if running is not None and now - running > STALL_SECONDS:
        return f"stalled: one remediate tick has run for {now - running:.0f}s"
    return loop_check("remediate tick", beats.remediate_ok, started, now,
                      limits.remediate_stale)


def journal_check(beats: Heartbeats, started: float, now: float, limits: Limits) -> str:
    if beats.journal_error:
        return f"not writable: {beats.journal_error}"
    return loop_check("journal probe", beats.journal_ok, started, now,
                      max(3 * limits.journal_every, limits.poll_stale))
