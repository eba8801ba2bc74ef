"""The Actuator protocol (the only things that change the world) and how steps find one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from aiops.model import Action, Outcome, Reconciliation, Target, TargetState


@runtime_checkable
class Actuator(Protocol):
    """Applies actions to targets and observes targets.

    ``apply`` makes **one attempt** and must be idempotent on ``action.id``: applying an
    action whose id was already applied returns ``OutcomeStatus.ALREADY_DONE`` and
    changes nothing. Action parameters are absolute (``scale`` carries ``replicas``,
    never a delta), so a retry cannot double a change. ``apply`` raises
    :class:`aiops.errors.TemporaryError` (with ``retry_after``) only when nothing was
    applied or re-applying under the same id is safe; the engine schedules the retry,
    the actuator never sleeps. It raises :class:`aiops.errors.PermanentError` when
    retrying will not help, and returns ``OutcomeStatus.UNKNOWN`` when it cannot tell
    whether the action took effect. With ``action.dry_run`` it changes nothing and
    returns ``OutcomeStatus.DRY_RUN`` with what it would have done in ``after``.

    Action kinds and their parameters:

    - ``scale``: ``replicas`` (int), optional ``via_hpa`` (bool)
    - ``restart``: none
    - ``rollback``: optional ``only_if_changed_within`` (seconds)
    - ``delete_pod``: optional ``pod`` (name; default the least healthy)
    """

    name: str

    def apply(self, action: Action, *, now: float) -> Outcome: ...

    def observe(self, target: Target, *, now: float) -> TargetState: ...

    def close(self) -> None: ...


@runtime_checkable
class Reconciler(Protocol):
    """An actuator that can read back whether an action took effect.

    After a crash between "started" and "outcome recorded", the engine asks
    ``reconcile``: ``DONE`` (the world shows the action, e.g. its id in an annotation),
    ``NOT_DONE`` (it certainly did not happen: safe to apply now) or ``UNKNOWN``.
    ``before`` is what the target looked like when the action was started.
    """

    def reconcile(
        self, action: Action, *, before: Mapping[str, Any], now: float
    ) -> Reconciliation: ...


@dataclass(frozen=True, kw_only=True, slots=True)
class Executors:
    """Which actuator runs each step kind; ``workloads`` also observes targets.

    Built by the composition root (:mod:`aiops.daemon.backends`) and handed to the
    remediation engine, which never builds actuators itself.
    """

    workloads: Actuator
    by_kind: Mapping[str, Actuator] = field(default_factory=dict)

    def for_kind(self, kind: str) -> Actuator:
        return self.by_kind.get(kind, self.workloads)

    def all(self) -> list[Actuator]:
        """Every distinct actuator (to close them)."""
        seen: dict[int, Actuator] = {id(self.workloads): self.workloads}
        for a in self.by_kind.values():
            seen.setdefault(id(a), a)
        return list(seen.values())
