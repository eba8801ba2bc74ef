"""The command actuator: argv without a shell, exit status, timeout, allowlist."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiops.actuators.command import CommandActuator
from aiops.errors import PermanentError
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


def test_nonzero_exit_fails_and_timeout_is_unknown() -> None:
    """Exit 1 is a failed outcome; a command killed by its timeout has an unknown outcome."""
    out = CommandActuator().apply(_run(["false"]), now=0.0)
    assert out.status is OutcomeStatus.FAILED and out.after["returncode"] == 1
    late = CommandActuator().apply(_run(["sleep", "5"], timeout=0.2), now=0.0)
    assert late.status is OutcomeStatus.UNKNOWN and "timed out" in late.message


def test_the_command_gets_its_idempotency_key_and_not_the_daemons_secrets(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """AIOPS_ACTION_ID and friends reach the process; the daemon's other variables do not."""
    monkeypatch.setenv("AIOPS_TEST_SECRET", "hunter2")
    action = Action(id="inc-9:2", kind="command", target=T, incident="inc-9", runbook="rb",
                    step=2, attempt=1, params={"argv": ["env"]})
    out = CommandActuator().apply(action, now=0.0)
    env = dict(line.split("=", 1) for line in out.after["stdout"].splitlines() if "=" in line)
    assert env["AIOPS_ACTION_ID"] == "inc-9:2" and env["AIOPS_INCIDENT_ID"] == "inc-9"
    assert env["AIOPS_RUNBOOK"] == "rb" and env["AIOPS_STEP"] == "2"
    assert env["AIOPS_ATTEMPT"] == "1" and env["AIOPS_TARGET"] == "SystemdUnit/x.service"
    assert "AIOPS_TEST_SECRET" not in env and "PATH" in env


def test_allowlist_missing_binary_and_dry_run() -> None:
    """Only allowlisted programs run; a missing binary is permanent; dry runs run nothing."""
    with pytest.raises(PermanentError, match="allowlist"):
        CommandActuator(allowed=["systemctl"]).apply(_run(["rm", "-rf", "/nope"]), now=0.0)
    with pytest.raises(PermanentError, match="cannot run"):
        CommandActuator().apply(_run(["/nonexistent/bin"]), now=0.0)
    dry = Action(id="i:1", kind="command", target=T, params={"argv": ["false"]}, dry_run=True)
    assert CommandActuator().apply(dry, now=0.0).status is OutcomeStatus.DRY_RUN
