"""The recording actuator: idempotent on action id, observable, changes nothing on dry runs."""

from __future__ import annotations

import pytest

from aiops.actuators.record import RecordingActuator
from aiops.errors import PermanentError
from aiops.model import Action, OutcomeStatus, Target

T = Target(kind="Deployment", namespace="shop", name="web")


def test_idempotent_and_observable() -> None:
    """Applying the same id twice changes the state once; rollback lowers the revision."""
    rec = RecordingActuator(replicas=3, revision=4)
    scale = Action(id="a:0", kind="scale", target=T, params={"replicas": 6})
    assert rec.apply(scale, now=1.0).status is OutcomeStatus.DONE
    again = rec.apply(Action(id="a:0", kind="scale", target=T, params={"replicas": 9}), now=2.0)
    assert again.status is OutcomeStatus.ALREADY_DONE
    assert rec.observe(T, now=3.0).replicas == 6
    rec.apply(Action(id="a:1", kind="rollback", target=T), now=4.0)
    state = rec.observe(T, now=5.0)
    assert state.revision == 3 and state.changed_at == 4.0
    assert [a.id for a in rec.applied] == ["a:0", "a:1"]


def test_dry_run_and_unknown_kind() -> None:
    """A dry run reports what would change without changing it; unknown kinds are refused."""
    rec = RecordingActuator(replicas=3)
    out = rec.apply(Action(id="d", kind="scale", target=T, params={"replicas": 5}, dry_run=True),
                    now=0.0)
    assert out.status is OutcomeStatus.DRY_RUN and out.after["replicas"] == 5
    assert rec.observe(T, now=0.0).replicas == 3 and rec.applied == []
    with pytest.raises(PermanentError):
        rec.apply(Action(id="x", kind="reboot", target=T), now=0.0)
