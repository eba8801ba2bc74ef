"""systemd actuator: restart, start, stop or reload a unit through ``systemctl`` (argv, no shell).

Only units matching ``allow_units`` (glob patterns; a bare name means ``name.service``)
are touched; anything else is a :class:`PermanentError` before any process runs. Each
call has a timeout (a timeout is a :class:`TemporaryError`). ``observe`` reads
``systemctl show -p ActiveState,SubState,...`` for verification.

Idempotency: systemd keeps no note of who asked for a restart, so applied action ids are
remembered in this process (bounded), and across a daemon crash :meth:`reconcile` reads
the unit back: the engine keeps the unit's ``InvocationID`` from before the action
(``before``), and a restart took effect exactly when the unit now runs under a new
invocation (started after the action); ``start``/``stop`` took effect when the unit is in
the state they ask for. A ``reload`` leaves no trace, so its outcome stays unknown.

>>> SystemdActuator(SystemdConfig(allow_units=["nginx", "app-*.service"])).allowed("app-a")
True
"""

from __future__ import annotations

import re
import subprocess
from collections import OrderedDict
from collections.abc import Mapping
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any

from aiops.config.actuators import SystemdConfig
from aiops.errors import PermanentError, TemporaryError
from aiops.model import (
    Action,
    Outcome,
    OutcomeStatus,
    Reconciled,
    Reconciliation,
    Target,
    TargetState,
)

KIND = "SystemdUnit"
VERBS = ("restart", "start", "stop", "reload")
SHOW_PROPERTIES = (
    "Id",
    "LoadState",
    "ActiveState",
    "SubState",
    "MainPID",
    "NRestarts",
    "InvocationID",
    "ActiveEnterTimestamp",
    "UnitFileState",
)
_UNIT = re.compile(r"[A-Za-z0-9:_.\\@-]+")
_SUFFIXES = (".service", ".socket", ".timer", ".target", ".path", ".mount", ".slice")
KEEP_IDS = 1000


def unit_name(name: str) -> str:
    """Normalise a unit name the way systemctl does (``nginx`` -> ``nginx.service``).

    >>> unit_name("nginx"), unit_name("backup.timer")
    ('nginx.service', 'backup.timer')
    """
    if not name or name.startswith("-") or not _UNIT.fullmatch(name):
        raise PermanentError(f"invalid systemd unit name {name!r}")
    return name if name.endswith(_SUFFIXES) else f"{name}.service"


def parse_show(text: str) -> dict[str, str]:
    """``systemctl show`` output (``Key=Value`` lines) as a dict.

    >>> parse_show("ActiveState=active\\nSubState=running\\n")
    {'ActiveState': 'active', 'SubState': 'running'}
    """
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


def _timestamp(value: str) -> float | None:
    """systemd's ``Fri 2026-11-27 12:00:00 UTC`` as Unix seconds (UTC only), else None."""
    try:
        parsed = datetime.strptime(value.replace(" UTC", " +0000"), "%a %Y-%m-%d %H:%M:%S %z")
    except ValueError:
        return None
    return parsed.timestamp()


class SystemdActuator:
    """Drives allowlisted systemd units with ``systemctl``."""

    name = "systemd"

    def __init__(self, config: SystemdConfig) -> None:
        self.cfg = config
        self._applied: OrderedDict[str, Outcome] = OrderedDict()

    def allowed(self, name: str) -> bool:
        """True when the unit matches an ``allow_units`` pattern."""
        unit = unit_name(name)
        return any(
            fnmatchcase(unit, p) or fnmatchcase(unit, f"{p}.service") for p in self.cfg.allow_units
        )

    def _unit(self, target: Target) -> str:
        if target.kind != KIND:
            raise PermanentError(f"systemd actuator handles {KIND}, not {target.kind!r}")
        unit = unit_name(target.name)
        if not self.allowed(unit):
            raise PermanentError(f"unit {unit} is not in systemd.allow_units")
        return unit

    def _run(self, args: list[str]) -> subprocess.CompletedProcess[str]:
        argv = [self.cfg.systemctl, "--no-ask-password", *args]
        try:
            return subprocess.run(  # argv, never a shell
                argv,
                capture_output=True,
                text=True,
                timeout=self.cfg.timeout,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise TemporaryError(
                f"{' '.join(argv)} timed out after {self.cfg.timeout:g}s", retry_after=5.0
            ) from None
        except OSError as e:
            raise PermanentError(f"cannot run {self.cfg.systemctl}: {e.strerror}") from None

    def _show(self, unit: str) -> dict[str, str]:
        proc = self._run(["show", "--no-pager", "-p", ",".join(SHOW_PROPERTIES), "--", unit])
        if proc.returncode != 0:
            raise _error("show", unit, proc)
        return parse_show(proc.stdout)

    def observe(self, target: Target, *, now: float) -> TargetState:
        """Unit state: active counts as one ready replica; transitions count as in progress."""
        unit = self._unit(target)
        props = self._show(unit)
        active, sub = props.get("ActiveState", ""), props.get("SubState", "")
        return TargetState(
            target=target,
            exists=props.get("LoadState", "") not in ("not-found", ""),
            replicas=1 if active in ("active", "reloading", "activating") else 0,
            ready_replicas=1 if active == "active" and sub in ("running", "exited") else 0,
            rollout_in_progress=active in ("activating", "deactivating", "reloading"),
            changed_at=_timestamp(props.get("ActiveEnterTimestamp", "")),
            details=props,
        )

    def apply(self, action: Action, *, now: float) -> Outcome:
        """Run ``systemctl <verb> -- <unit>`` once per action id."""
        if action.kind not in VERBS:
            raise PermanentError(f"systemd actuator cannot {action.kind!r}; use one of {VERBS}")
        unit = self._unit(action.target)
        if action.id in self._applied:
            return Outcome(
                action_id=action.id,
                status=OutcomeStatus.ALREADY_DONE,
                message=f"action {action.id} was already applied",
                after=self._applied[action.id].after,
            )
        before = self._show(unit)
        if before.get("LoadState") == "not-found":
            raise PermanentError(f"unit {unit} not found")
        argv = [self.cfg.systemctl, "--no-ask-password", action.kind, "--", unit]
        if action.dry_run:
            return Outcome(
                action_id=action.id,
                status=OutcomeStatus.DRY_RUN,
                message=f"dry-run: would run {' '.join(argv)}",
                before=before,
                after={"argv": argv},
            )
        proc = self._run([action.kind, "--", unit])
        if proc.returncode != 0:
            raise _error(action.kind, unit, proc)
        after = self._show(unit)
        outcome = Outcome(
            action_id=action.id,
            status=OutcomeStatus.DONE,
            message=f"{action.kind} {unit}: now {after.get('ActiveState')}/{after.get('SubState')}"
            + (f" [incident {action.incident}]" if action.incident else ""),
            before=before,
            after={**after, "argv": argv},
        )
        self._applied[action.id] = outcome
        while len(self._applied) > KEEP_IDS:
            self._applied.popitem(last=False)
        return outcome

    def reconcile(
        self, action: Action, *, before: Mapping[str, Any], now: float
    ) -> Reconciliation:
        """Read the unit back: did ``action`` take effect before the daemon lost its outcome?"""
        unit = self._unit(action.target)
        props = self._show(unit)
        active = props.get("ActiveState", "")
        was = (before.get("details") or {}).get("InvocationID", "")
        if action.kind == "restart":
            if not was:
                return self._rec(action, Reconciled.UNKNOWN, "no InvocationID from before")
            if props.get("InvocationID", "") not in ("", was):
                return self._rec(action, Reconciled.DONE,
                                 f"{unit} runs a new invocation {props['InvocationID']}")
            return self._rec(action, Reconciled.NOT_DONE, f"{unit} still runs invocation {was}")
        if action.kind == "start":
            done = active in ("active", "activating", "reloading")
            return self._rec(action, Reconciled.DONE if done else Reconciled.NOT_DONE,
                             f"{unit} is {active}")
        if action.kind == "stop":
            done = active in ("inactive", "failed", "deactivating")
            return self._rec(action, Reconciled.DONE if done else Reconciled.NOT_DONE,
                             f"{unit} is {active}")
        return self._rec(action, Reconciled.UNKNOWN, f"a {action.kind} leaves no trace")

    @staticmethod
    def _rec(action: Action, status: Reconciled, message: str) -> Reconciliation:
        return Reconciliation(action_id=action.id, status=status, message=message)

    def close(self) -> None:
        """Nothing to release."""


def _error(verb: str, unit: str, proc: subprocess.CompletedProcess[str]) -> Exception:
    detail = (proc.stderr or proc.stdout).strip()[:500]
    message = f"systemctl {verb} {unit} exited {proc.returncode}: {detail}"
    if "Failed to connect to bus" in detail or "Transport endpoint" in detail:
        return TemporaryError(message, retry_after=5.0)
    return PermanentError(message)
