"""SystemdActuator against a fake ``systemctl`` executable (no systemd runs in this container)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from aiops.actuators.base import Actuator
from aiops.actuators.systemd import SystemdActuator
from aiops.config.actuators import SystemdConfig
from aiops.errors import PermanentError, TemporaryError
from aiops.model import Action, OutcomeStatus, Reconciled, Target

# A stand-in for systemctl: records argv, keeps unit state in a JSON file, and behaves
# like systemctl for the verbs the actuator uses (exit 5 for an unknown unit).
FAKE_SYSTEMCTL = r"""
import json, sys, time
from pathlib import Path
here = Path(__file__).parent
with open(here / "calls.jsonl", "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\n")
state = json.loads((here / "units.json").read_text())
args = [a for a in sys.argv[1:] if not a.startswith("--")]
verb, unit = args[0], args[-1]
if unit not in state:
    if verb == "show":
        print(f"Id={unit}\nLoadState=not-found\nActiveState=inactive\nSubState=dead")
        sys.exit(0)
    print(f"Failed to {verb} {unit}: Unit {unit} not found.", file=sys.stderr)
    sys.exit(5)
u = state[unit]
if verb == "show":
    for k, v in u.items():
        if not k.startswith("_"):
            print(f"{k}={v}")
    sys.exit(0)
time.sleep(u.get("_delay", 0))
if u.get("_fail"):
    print(f"Job for {unit} failed because the control process exited with error code.",
          file=sys.stderr)
    sys.exit(1)
if verb in ("restart", "start"):
    u["ActiveState"], u["SubState"] = "active", "running"
    u["InvocationID"] = f"inv{int(u['InvocationID'][3:]) + 1}"
    u["NRestarts"] = str(int(u["NRestarts"]) + (verb == "restart"))
elif verb == "stop":
    u["ActiveState"], u["SubState"] = "inactive", "dead"
(here / "units.json").write_text(json.dumps(state))
"""


def _unit(**extra: Any) -> dict[str, Any]:
    return {
        "Id": "x",
        "LoadState": "loaded",
        "ActiveState": "failed",
        "SubState": "failed",
        "MainPID": "0",
        "NRestarts": "0",
        "InvocationID": "inv1",
        "ActiveEnterTimestamp": "Fri 2026-11-27 12:00:00 UTC",
        "UnitFileState": "enabled",
        **extra,
    }


@pytest.fixture
def fake(tmp_path: Path) -> Path:
    script = tmp_path / "systemctl"
    script.write_text(f"#!{sys.executable}\n{FAKE_SYSTEMCTL}")
    script.chmod(0o755)
    units = {
        "app-web.service": _unit(),
        "slow.service": _unit(_delay=2),
        "broken.service": _unit(_fail=True),
    }
    (tmp_path / "units.json").write_text(json.dumps(units))
    return tmp_path


def _calls(fake: Path) -> list[list[str]]:
    path = fake / "calls.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _act(fake: Path, **cfg: Any) -> SystemdActuator:
    config = SystemdConfig(
        systemctl=str(fake / "systemctl"), allow_units=["app-*", "slow", "broken", "ghost"], **cfg
    )
    return SystemdActuator(config)


def _action(kind: str, unit: str = "app-web", aid: str = "s1", dry: bool = False) -> Action:
    return Action(
        id=aid,
        kind=kind,
        target=Target(kind="SystemdUnit", name=unit),
        dry_run=dry,
        incident="inc-7",
    )


def test_is_an_actuator(fake: Path) -> None:
    """SystemdActuator satisfies the Actuator protocol."""
    assert isinstance(_act(fake), Actuator)


def test_restart_runs_systemctl_argv(fake: Path) -> None:
    """restart runs `systemctl --no-ask-password restart -- app-web.service` and verifies."""
    out = _act(fake).apply(_action("restart"), now=0.0)
    assert out.status is OutcomeStatus.DONE
    assert ["--no-ask-password", "restart", "--", "app-web.service"] in _calls(fake)
    assert (out.before["ActiveState"], out.after["ActiveState"]) == ("failed", "active")
    assert out.after["InvocationID"] == "inv2"


@pytest.mark.parametrize(
    ("verb", "state"), [("start", "active"), ("stop", "inactive"), ("reload", "failed")]
)
def test_other_verbs(fake: Path, verb: str, state: str) -> None:
    """start, stop and reload map to the systemctl verb of the same name."""
    out = _act(fake).apply(_action(verb), now=0.0)
    assert _calls(fake)[1] == ["--no-ask-password", verb, "--", "app-web.service"]
    assert out.after["ActiveState"] == state


def test_same_action_id_runs_once(fake: Path) -> None:
    """Repeating an action id does not restart the unit again."""
    act = _act(fake)
    act.apply(_action("restart"), now=0.0)
    again = act.apply(_action("restart"), now=1.0)
    assert again.status is OutcomeStatus.ALREADY_DONE
    assert [c for c in _calls(fake) if "restart" in c] == [
        ["--no-ask-password", "restart", "--", "app-web.service"]
    ]


def test_units_outside_allowlist_are_refused(fake: Path) -> None:
    """A unit not matching allow_units is refused before systemctl ever runs."""
    with pytest.raises(PermanentError, match=r"not in systemd\.allow_units"):
        _act(fake).apply(_action("restart", unit="sshd"), now=0.0)
    with pytest.raises(PermanentError, match="invalid systemd unit name"):
        _act(fake).apply(_action("restart", unit="--force"), now=0.0)
    assert _calls(fake) == []


def test_dry_run_runs_only_show(fake: Path) -> None:
    """Dry-run reads the unit but never runs the verb."""
    out = _act(fake).apply(_action("restart", dry=True), now=0.0)
    assert out.status is OutcomeStatus.DRY_RUN
    assert [c[1] for c in _calls(fake)] == ["show"]
    assert out.after["argv"][-2:] == ["--", "app-web.service"]


def test_timeout_is_temporary(fake: Path) -> None:
    """A systemctl call slower than the timeout is a TemporaryError."""
    with pytest.raises(TemporaryError, match="timed out"):
        _act(fake, timeout=0.5).apply(_action("restart", unit="slow"), now=0.0)


def test_failed_job_and_missing_unit_are_permanent(fake: Path) -> None:
    """A failing job and an unknown unit are PermanentErrors carrying systemctl's message."""
    with pytest.raises(PermanentError, match=r"exited 1: Job for broken\.service failed"):
        _act(fake).apply(_action("restart", unit="broken"), now=0.0)
    with pytest.raises(PermanentError, match="not found"):
        _act(fake).apply(_action("restart", unit="ghost"), now=0.0)


def test_observe_reads_unit_state(fake: Path) -> None:
    """observe parses systemctl show: active/running is one ready replica."""
    act = _act(fake)
    target = Target(kind="SystemdUnit", name="app-web")
    assert act.observe(target, now=0.0).ready_replicas == 0
    act.apply(_action("start"), now=0.0)
    state = act.observe(target, now=0.0)
    assert (state.exists, state.replicas, state.ready_replicas) == (True, 1, 1)
    assert state.changed_at == 1795780800.0
    assert state.details["SubState"] == "running"
    assert _calls(fake)[-1][:3] == ["--no-ask-password", "show", "--no-pager"]


def test_reconcile_reads_the_invocation_back(fake: Path) -> None:
    """After a crash, a restart is done iff the unit runs a new invocation since before."""
    act = _act(fake)
    unit = Target(kind="SystemdUnit", name="app-web")
    before = {"details": dict(act.observe(unit, now=0.0).details)}
    fresh = _act(fake)  # a new process: nothing remembered in memory
    assert fresh.reconcile(_action("restart"), before=before, now=1.0).status is \
        Reconciled.NOT_DONE
    act.apply(_action("restart"), now=1.0)
    assert fresh.reconcile(_action("restart"), before=before, now=2.0).status is \
        Reconciled.DONE
    assert fresh.reconcile(_action("restart"), before={}, now=2.0).status is Reconciled.UNKNOWN
    assert fresh.reconcile(_action("reload"), before=before, now=2.0).status is \
        Reconciled.UNKNOWN


def test_unit_names_with_a_trailing_newline_are_refused(fake: Path) -> None:
    """'app-web\\n' is not a unit name (fullmatch, not a $ that accepts a newline)."""
    with pytest.raises(PermanentError, match="invalid systemd unit name"):
        _act(fake).apply(_action("restart", unit="app-web\n"), now=0.0)
    assert _calls(fake) == []
