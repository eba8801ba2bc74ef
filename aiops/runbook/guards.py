"""Guards: the safety checks between "a runbook matched" and "it acts". Pure.

The engine gathers :class:`GuardFacts` from the journal (which keeps every guard's
state across restarts) and the actuator's observation; :func:`check_guards` returns
the reason a run must not happen, or ``None``.

>>> from aiops.model import Target
>>> t = Target(kind="SandboxWorkload", namespace="shop", name="checkout")
>>> from aiops.runbook.schema import Guards
>>> r = check_guards(Guards(cooldown=600), t, GuardFacts(last_closed_at=1000.0), now=1360.0)
>>> r.code.value, r.message
('cooldown', 'cooldown 4m left on SandboxWorkload/shop/checkout')
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from aiops.config.durations import format_duration
from aiops.model import Target, TargetState
from aiops.reasons import Reason, ReasonCode
from aiops.runbook.schema import Guards

HOUR = 3600.0


@dataclass(frozen=True, kw_only=True, slots=True)
class GuardFacts:
    """What the guards need to know about the world, gathered by the engine.

    ``running`` is the id of an open incident on the target (any runbook);
    ``last_closed_at`` when this runbook's last run on the target ended;
    ``run_starts`` when this runbook's runs on the target that really acted started;
    ``changes_last_hour`` mutating actions applied by any runbook in the last hour,
    against the global ``changes_per_hour`` budget (``None``: unlimited).
    """

    running: str | None = None
    last_closed_at: float | None = None
    run_starts: tuple[float, ...] = ()
    changes_last_hour: int = 0
    changes_per_hour: int | None = None
    firing_alerts: frozenset[str] = frozenset()
    state: TargetState | None = None
    pods_deleted_last_hour: int = 0
    deny_namespaces: tuple[str, ...] = ("kube-system",)
    allow_namespaces: tuple[str, ...] = ()


def check_guards(
    guards: Guards, target: Target, facts: GuardFacts, *, now: float, recheck: bool = False,
    kinds: Iterable[str] = (),
) -> Reason | None:
    """The first guard that forbids a run on ``target`` now, as a skip :class:`Reason`.

    With ``recheck`` (before a mutating step of a run already under way) the per-run
    guards (concurrency, cooldown, max_runs) are not consulted again: the run holds them.
    """
    denied = set(facts.deny_namespaces) | set(guards.deny_namespaces)
    if target.namespace in denied:
        return Reason(code=ReasonCode.NAMESPACE_DENIED, message=(
                f"namespace {target.namespace} is denied"))
    if facts.allow_namespaces and target.namespace not in facts.allow_namespaces:
        return Reason(code=ReasonCode.NAMESPACE_NOT_ALLOWED, message=(
                f"namespace {target.namespace} is not in the daemon's allow_namespaces"))
    if guards.allow_namespaces and target.namespace not in guards.allow_namespaces:
        return Reason(code=ReasonCode.NAMESPACE_NOT_ALLOWED, message=(
                f"namespace {target.namespace} is not in allow_namespaces"))
    if not recheck:
        if facts.running is not None and guards.concurrency == "skip":
            return Reason(code=ReasonCode.CONCURRENCY, message=(
                f"incident {facts.running} already running on {target}"))
        acted = facts.state.last_action_at if facts.state is not None else None
        if guards.cooldown and facts.last_closed_at is not None:
            left = facts.last_closed_at + guards.cooldown - now
            if left > 0:
                return Reason(code=ReasonCode.COOLDOWN, message=(
                f"cooldown {format_duration(left)} left on {target}"))
        if guards.cooldown and acted is not None:
            # Recorded on the target by whichever replica acted: holds across failover.
            left = acted + guards.cooldown - now
            if left > 0:
                return Reason(code=ReasonCode.COOLDOWN, message=(
                    f"cooldown {format_duration(left)} left on {target}"
                    " (last action recorded on the target)"))
        for w in guards.max_runs:
            # runs dated after now count too: another replica's clock may run ahead
            n = sum(1 for t in facts.run_starts if now - w.per < t)
            if n >= w.count:
                per = format_duration(w.per)
                return Reason(code=ReasonCode.MAX_RUNS, message=(
                f"max_runs {w.count} per {per} reached on {target}"))
    if facts.changes_per_hour is not None and facts.changes_last_hour >= facts.changes_per_hour:
        return Reason(code=ReasonCode.BUDGET, message=(
                f"global budget of {facts.changes_per_hour} changes per hour used up"))
    blocking = sorted(set(guards.block_while_alerts) & facts.firing_alerts)
    if blocking:
        return Reason(code=ReasonCode.BLOCKED_BY_ALERT, message=(
                f"alert {blocking[0]} is firing"))
    for mw in guards.maintenance_windows:
        if mw.contains(now):
            return Reason(code=ReasonCode.MAINTENANCE_WINDOW, message=(
                f"maintenance window {mw.start}-{mw.end} UTC"))
    if guards.max_pods_fraction is not None and "delete_pod" in set(kinds):
        pods = facts.state.replicas if facts.state is not None else 0
        allowed = math.floor(guards.max_pods_fraction * pods)
        if facts.pods_deleted_last_hour + 1 > allowed:
            return Reason(code=ReasonCode.MAX_PODS_FRACTION, message=(
                f"max_pods_fraction {guards.max_pods_fraction:g}: "
                f"{facts.pods_deleted_last_hour} of {pods} pods deleted in the last hour"))
    if guards.not_during_rollout and facts.state is not None and facts.state.rollout_in_progress:
        return Reason(code=ReasonCode.ROLLOUT_IN_PROGRESS, message=(
                f"rollout in progress on {target}"))
    return None
