"""The command actuator: argv without a shell, exit status, timeout, allowlist."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiops.actuators.command import CommandActuator
from aiops.errors import PermanentError, TemporaryError
from aiops.model import Action, OutcomeStatus, Target

T = Target(kind="SystemdUnit", name="x.service")


def _run(argv: list[str], **kw: object) -> Action:
    return Action(id="i:0", kind="command", target=T, params={"argv": argv, **kw})


def test_argv_is_not_interpreted_by_a_shell(tmp_path: Path) -> None:
    """Shell syntax in an argument stays a literal string."""
    marker = tmp_path / "pwned"
    out = CommandActuator().apply(_run(["echo", f"; touch {marker}"]), now=0.0)
    assert out.status is OutcomeStatus.DONE
    assert out.after["stdout"].strip() == f"; touch {marker}"
    assert not marker.exists()


def test_nonzero_exit_fails_and_timeout_is_temporary() -> None:
    """Exit 1 is a failed outcome; running past the timeout raises a temporary error."""
    out = CommandActuator().apply(_run(["false"]), now=0.0)
    assert out.status is OutcomeStatus.FAILED and out.after["returncode"] == 1
    with pytest.raises(TemporaryError, match="timed out"):
        CommandActuator().apply(_run(["sleep", "5"], timeout=0.2), now=0.0)


def test_allowlist_missing_binary_and_dry_run() -> None:
    """Only allowlisted programs run; a missing binary is permanent; dry runs run nothing."""
    with pytest.raises(PermanentError, match="allowlist"):
        CommandActuator(allowed=["systemctl"]).apply(_run(["rm", "-rf", "/nope"]), now=0.0)
    with pytest.raises(PermanentError, match="cannot run"):
        CommandActuator().apply(_run(["/nonexistent/bin"]), now=0.0)
    dry = Action(id="i:1", kind="command", target=T, params={"argv": ["false"]}, dry_run=True)
    assert CommandActuator().apply(dry, now=0.0).status is OutcomeStatus.DRY_RUN
