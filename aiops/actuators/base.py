"""The Actuator protocol: the only things that change the world."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from aiops.model import Action, Outcome, Target, TargetState


@runtime_checkable
class Actuator(Protocol):
    """Applies actions to targets and observes targets.

    ``apply`` must be idempotent on ``action.id``: applying an action whose id was
    already applied returns ``OutcomeStatus.ALREADY_DONE`` and changes nothing. Action
    parameters are absolute (``scale`` carries ``replicas``, never a delta), so a retry
    cannot double a change. ``apply`` raises :class:`aiops.errors.TemporaryError` for
    failures worth retrying and :class:`aiops.errors.PermanentError` otherwise; with
    ``action.dry_run`` it changes nothing and returns ``OutcomeStatus.DRY_RUN`` with
    what it would have done in ``after``.

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
