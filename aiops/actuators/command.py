"""The ``command`` step: run an argv list (never a shell) with a timeout, once per call.

Exit status 0 is done, any other status is a permanent failure. A command killed by
its timeout may or may not have done its work, so the outcome is ``unknown``: the
engine re-runs it only if the step is declared ``idempotent``, otherwise a person
decides. The process gets its idempotency key in the environment so a script can
recognise a repeat: ``AIOPS_ACTION_ID`` (stable across retries and daemon restarts),
``AIOPS_INCIDENT_ID``, ``AIOPS_RUNBOOK``, ``AIOPS_TARGET``, ``AIOPS_STEP`` and
``AIOPS_ATTEMPT``. Of the daemon's own environment only ``PATH``, ``HOME``, ``LANG``,
``LC_ALL`` and ``TZ`` are passed on (the daemon's credentials are not). Output is
captured and truncated into the outcome.

>>> from aiops.model import Action, Target
>>> out = CommandActuator().apply(Action(id="i:0", kind="command",
...     target=Target(kind="SystemdUnit", name="x"), params={"argv": ["true"]}), now=0.0)
>>> out.status, out.after["returncode"]
(<OutcomeStatus.DONE: 'done'>, 0)
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence

from aiops.errors import PermanentError
from aiops.model import Action, Outcome, OutcomeStatus, Target, TargetState

MAX_OUTPUT = 2000
#: Variables passed on from the daemon's environment.
PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ")


def command_env(action: Action, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a command step runs with: a few basics plus the action's keys.

    >>> from aiops.model import Target
    >>> env = command_env(Action(id="inc-1:0", kind="command", incident="inc-1",
    ...                          target=Target(kind="SystemdUnit", name="web")), {"PATH": "/bin"})
    >>> env["AIOPS_ACTION_ID"], env["AIOPS_INCIDENT_ID"], env["AIOPS_TARGET"], env["PATH"]
    ('inc-1:0', 'inc-1', 'SystemdUnit/web', '/bin')
    """
    source = os.environ if base is None else base
    env = {k: source[k] for k in PASSED_ENV if k in source}
    env.update({
        "AIOPS_ACTION_ID": action.id,
        "AIOPS_INCIDENT_ID": action.incident,
        "AIOPS_RUNBOOK": action.runbook,
        "AIOPS_TARGET": str(action.target),
        "AIOPS_STEP": str(action.step),
        "AIOPS_ATTEMPT": str(action.attempt),
    })
    return env


class CommandActuator:
    """Runs ``action.params['argv']`` with ``action.params['timeout']`` seconds."""

    name = "command"

    def __init__(
        self, *, allowed: Sequence[str] | None = None, default_timeout: float = 30.0
    ) -> None:
        self.allowed = tuple(allowed) if allowed is not None else None
        self.default_timeout = default_timeout

    def observe(self, target: Target, *, now: float) -> TargetState:
        return TargetState(target=target)

    def apply(self, action: Action, *, now: float) -> Outcome:
        argv = action.params.get("argv")
        if not isinstance(argv, list | tuple) or not all(isinstance(a, str) for a in argv):
            raise PermanentError("command needs argv: a non-empty list of strings")
        if not argv:
            raise PermanentError("command needs argv: a non-empty list of strings")
        if self.allowed is not None and argv[0] not in self.allowed:
            raise PermanentError(f"command {argv[0]!r} is not in the allowlist")
        timeout = float(action.params.get("timeout") or self.default_timeout)
        if action.dry_run:
            return Outcome(
                action_id=action.id,
                status=OutcomeStatus.DRY_RUN,
                message="would run " + " ".join(argv),
                after={"argv": list(argv)},
            )
        try:
            proc = subprocess.run(  # no shell: argv is passed to exec directly
                list(argv),
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
                stdin=subprocess.DEVNULL,
                env=command_env(action),
            )
        except subprocess.TimeoutExpired:
            return Outcome(
                action_id=action.id,
                status=OutcomeStatus.UNKNOWN,
                message=f"{argv[0]} timed out after {timeout:g}s and was killed: "
                "it may or may not have done its work",
            )
        except OSError as exc:
            raise PermanentError(f"cannot run {argv[0]}: {exc.strerror}") from None
        after = {
            "returncode": proc.returncode,
            "stdout": proc.stdout[-MAX_OUTPUT:],
            "stderr": proc.stderr[-MAX_OUTPUT:],
        }
        if proc.returncode != 0:
            return Outcome(
                action_id=action.id,
                status=OutcomeStatus.FAILED,
                message=f"{argv[0]} exited {proc.returncode}",
                after=after,
            )
        return Outcome(
            action_id=action.id,
            status=OutcomeStatus.DONE,
            message=f"{argv[0]} exited 0",
            after=after,
        )

    def close(self) -> None:
        return None
