"""The ``command`` step: run an argv list (never a shell) with a timeout.

Exit status 0 is done, any other status is a permanent failure, a timeout is a
temporary error. Output is captured and truncated into the outcome.

>>> from aiops.model import Action, Target
>>> out = CommandActuator().apply(Action(id="i:0", kind="command",
...     target=Target(kind="SystemdUnit", name="x"), params={"argv": ["true"]}), now=0.0)
>>> out.status, out.after["returncode"]
(<OutcomeStatus.DONE: 'done'>, 0)
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from aiops.errors import PermanentError, TemporaryError
from aiops.model import Action, Outcome, OutcomeStatus, Target, TargetState

MAX_OUTPUT = 2000


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
            )
        except subprocess.TimeoutExpired:
            msg = f"{argv[0]} timed out after {timeout:g}s"
            raise TemporaryError(msg, retry_after=5.0) from None
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
