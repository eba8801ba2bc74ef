"""The incident lifecycle: statuses, phases and the one table of allowed moves. Pure.

An incident is one run of a runbook on a target. Where it stands is a
:class:`Position` (status, phase, step, attempts, retry time); it changes only by a
:class:`Move`, and :func:`advance` is the only function that computes the next
position. The journal writes each move with its reason in the same transaction as the
facts that caused it (an action's outcome, an approval, a resolved alert), so after a
crash the journal says exactly where every incident stood.

::

    (opened) ──► queued ──► awaiting-approval ──► running ──► resolved | completed
        │           │              │               │  ▲         exhausted | stopped
        │           └─► skipped    └─► expired      ▼  │
        └──────────────────────────────────► needs-attention  (an outcome is unknown:
                                                               a person decides)

>>> p = opened(Status.RUNNING, now=0.0)
>>> p = advance(p, Move.APPLIED, now=5.0)
>>> p.status, p.phase, p.step
(<Status.RUNNING: 'running'>, <Phase.VERIFY: 'verify'>, 0)
>>> advance(p, Move.RESOLVE, now=9.0).status.terminal
True
>>> advance(advance(p, Move.RESOLVE, now=9.0), Move.APPROVE, now=10.0)
Traceback (most recent call last):
...
aiops.runbook.lifecycle.IllegalMove: incident is resolved: move 'approved' not allowed
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from aiops.errors import Conflict


class Status(StrEnum):
    """Where an incident stands."""

    QUEUED = "queued"
    AWAITING_APPROVAL = "awaiting-approval"
    RUNNING = "running"
    NEEDS_ATTENTION = "needs-attention"
    RESOLVED = "resolved"
    COMPLETED = "completed"
    EXHAUSTED = "exhausted"
    STOPPED = "stopped"
    SKIPPED = "skipped"
    EXPIRED = "expired"

    @property
    def open(self) -> bool:
        """Not finished: the engine (or a person) still has something to do."""
        return self in OPEN

    @property
    def terminal(self) -> bool:
        return self not in OPEN

    @property
    def holds_target(self) -> bool:
        """Holds its target: no other run may start there (the concurrency guard)."""
        return self in HOLDS_TARGET

    @property
    def pending(self) -> bool:
        """Waiting for something outside the ladder (a free target or a person)."""
        return self in PENDING


OPEN = frozenset({Status.QUEUED, Status.AWAITING_APPROVAL, Status.RUNNING,
                  Status.NEEDS_ATTENTION})
HOLDS_TARGET = frozenset({Status.AWAITING_APPROVAL, Status.RUNNING, Status.NEEDS_ATTENTION})
PENDING = frozenset({Status.QUEUED, Status.AWAITING_APPROVAL, Status.NEEDS_ATTENTION})


class Phase(StrEnum):
    """Within a running incident: applying the current step, or verifying it."""

    APPLY = "apply"
    VERIFY = "verify"
    CLOSED = "closed"


class Move(StrEnum):
    """Every way an incident's position may change (the journal's event kinds)."""

    DEQUEUE = "dequeued"                 # queued -> running, target free
    DEQUEUE_FOR_APPROVAL = "dequeued-for-approval"
    APPROVE = "approved"
    APPLIED = "applied"                  # step done, verification pending
    NEXT = "next"                        # on to the next step
    RETRY = "retry"                      # temporary failure, try again later
    ATTENTION = "needs-attention"        # an outcome is unknown: stop and ask a person
    RESUME = "resumed"                   # a person said how to go on
    RESOLVE = "resolved"                 # verified fixed, or the alert cleared
    COMPLETE = "completed"               # every step done
    EXHAUST = "exhausted"                # the ladder ran out without a fix
    STOP = "stopped"
    SKIP = "skipped"                     # a queued run that may no longer start
    EXPIRE = "expired"                   # approval or queue wait timed out


#: The one transition table: from which statuses each move may be made, and to which.
TABLE: dict[Move, tuple[frozenset[Status], Status]] = {
    Move.DEQUEUE: (frozenset({Status.QUEUED}), Status.RUNNING),
    Move.DEQUEUE_FOR_APPROVAL: (frozenset({Status.QUEUED}), Status.AWAITING_APPROVAL),
    Move.APPROVE: (frozenset({Status.AWAITING_APPROVAL}), Status.RUNNING),
    Move.APPLIED: (frozenset({Status.RUNNING}), Status.RUNNING),
    Move.NEXT: (frozenset({Status.RUNNING}), Status.RUNNING),
    Move.RETRY: (frozenset({Status.RUNNING}), Status.RUNNING),
    Move.ATTENTION: (frozenset({Status.RUNNING}), Status.NEEDS_ATTENTION),
    Move.RESUME: (frozenset({Status.NEEDS_ATTENTION}), Status.RUNNING),
    Move.RESOLVE: (frozenset({Status.QUEUED, Status.AWAITING_APPROVAL, Status.RUNNING}),
                   Status.RESOLVED),
    Move.COMPLETE: (frozenset({Status.RUNNING}), Status.COMPLETED),
    Move.EXHAUST: (frozenset({Status.RUNNING}), Status.EXHAUSTED),
    Move.STOP: (frozenset({Status.QUEUED, Status.RUNNING, Status.NEEDS_ATTENTION}),
                Status.STOPPED),
    Move.SKIP: (frozenset({Status.QUEUED}), Status.SKIPPED),
    Move.EXPIRE: (frozenset({Status.QUEUED, Status.AWAITING_APPROVAL}), Status.EXPIRED),
}

#: Moves that close an incident (their journal events end a timeline).
CLOSING = frozenset(m for m, (_, to) in TABLE.items() if to.terminal)
#: The same, as journal event kinds.
CLOSING_KINDS = frozenset(m.value for m in CLOSING)

#: How an incident may be opened (a plan's decision picks one).
INITIAL = frozenset({Status.QUEUED, Status.AWAITING_APPROVAL, Status.RUNNING})


class IllegalMove(Conflict):
    """A move the table does not allow from the incident's current status."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Position:
    """Where an incident stands: status, ladder step, phase and retry bookkeeping."""

    status: Status
    phase: Phase
    step: int
    phase_since: float
    attempts: int = 0
    next_try_at: float | None = None
    closed_at: float | None = None


def opened(status: Status, *, now: float) -> Position:
    """The position of a new incident."""
    if status not in INITIAL:
        raise IllegalMove(f"an incident cannot open as {status}")
    return Position(status=status, phase=Phase.APPLY, step=0, phase_since=now)


def allowed(status: Status, move: Move) -> bool:
    """Whether ``move`` may be made from ``status``.

    >>> allowed(Status.QUEUED, Move.RESOLVE), allowed(Status.NEEDS_ATTENTION, Move.RESOLVE)
    (True, False)
    """
    return status in TABLE[move][0]


def advance(
    pos: Position, move: Move, *, now: float, retry_at: float | None = None,
    since: float | None = None,
) -> Position:
    """The position after ``move`` at ``now``; raises :class:`IllegalMove` if not allowed.

    ``retry_at`` is when a :attr:`Move.RETRY` tries again; ``since`` backdates the start
    of a verification to when its action really finished (a step resumed after a crash).
    """
    sources, to = TABLE[move]
    if pos.status not in sources:
        raise IllegalMove(f"incident is {pos.status.value}: move {move.value!r} not allowed")
    if to.terminal:
        return replace(pos, status=to, phase=Phase.CLOSED, closed_at=now, next_try_at=None)
    if move is Move.APPLIED:
        return replace(pos, phase=Phase.VERIFY, phase_since=now if since is None else since,
                       attempts=0, next_try_at=None)
    if move is Move.NEXT:
        return replace(pos, step=pos.step + 1, phase=Phase.APPLY, phase_since=now,
                       attempts=0, next_try_at=None)
    if move is Move.RETRY:
        return replace(pos, attempts=pos.attempts + 1, next_try_at=retry_at)
    if move is Move.RESUME:
        return replace(pos, status=to, phase=Phase.APPLY, next_try_at=None)
    # dequeue, approve, attention: the status changes, the ladder clock restarts
    return replace(pos, status=to, phase_since=now if move is not Move.ATTENTION
                   else pos.phase_since, next_try_at=None)
