"""The runbook CLI: lint, test, schema, approve and explain, run in-process for real."""

from __future__ import annotations

import json
import time
from pathlib import Path
from textwrap import dedent

from typer.testing import CliRunner

from aiops.actuators.record import RecordingActuator
from aiops.cli import _load_commands
from aiops.cli.app import app
from aiops.engines.remediate import Remediator
from aiops.journal import Journal
from aiops.runbook import load_runbooks
from aiops.telemetry.logging import get_logger
from aiops.telemetry.metrics import Metrics
from tests.runbook.factories import LADDER, ROOT, anomaly

_load_commands()
runner = CliRunner()


def test_lint_reports_located_errors(tmp_path: Path) -> None:
    """`runbook lint` prints file:line:column, the field and fails on errors."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(dedent(LADDER).replace("action: restart", "action: reboot"))
    res = runner.invoke(app, ["runbook", "lint", str(bad)])
    assert res.exit_code == 1
    assert f"{bad}:18:7: spec.steps[1].action: error: unknown action 'reboot'" in res.output


def test_lint_warns_on_unknown_metric_and_strict_fails(tmp_path: Path) -> None:
    """An unknown verify metric is a warning; --strict turns it into a failure."""
    f = tmp_path / "rb.yaml"
    f.write_text(dedent(LADDER).replace("metric: latency_p99, below: 0.5, within: 3m, "
                                        "on_no_data: fail", "metric: latncy, below: 0.5"))
    ok = runner.invoke(app, ["runbook", "lint", str(f)])
    assert ok.exit_code == 0 and "unknown metric 'latncy'" in ok.output
    assert runner.invoke(app, ["runbook", "lint", "--strict", str(f)]).exit_code == 1


def test_runbook_test_replays_a_fixture() -> None:
    """`runbook test` shows each step: scale fails verification, restart resolves."""
    res = runner.invoke(app, [
        "runbook", "test", str(ROOT / "runbooks/examples/latency-ladder.yaml"),
        "--fixture", str(ROOT / "runbooks/examples/fixtures/checkout-latency.yaml"), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert [a["kind"] for a in doc["actions"]] == ["scale", "restart"]
    assert doc["actions"][0]["params"]["replicas"] == 6
    assert doc["incidents"][0]["status"] == "resolved"


def test_runbook_test_rejects_bad_fixture(tmp_path: Path) -> None:
    """A fixture error names its file, line and field."""
    fx = tmp_path / "fx.yaml"
    fx.write_text("events:\n  - at: 0s\n    anomoly: {metric: x}\n")
    res = runner.invoke(app, ["runbook", "test", str(ROOT / "runbooks/sandbox"),
                              "--fixture", str(fx)])
    assert res.exit_code == 2
    assert f"{fx}:3:5: events[0].anomoly: unknown field" in res.output


def test_schema_runbook_is_json_schema() -> None:
    """`aiops schema runbook` prints a JSON Schema with the runbook's top-level fields."""
    res = runner.invoke(app, ["schema", "runbook"])
    assert res.exit_code == 0
    schema = json.loads(res.output)
    assert set(schema["required"]) == {"apiVersion", "kind", "metadata", "spec"}


def test_approve_and_explain_through_the_journal(tmp_path: Path) -> None:
    """`aiops approve` unblocks a pending incident (allowlist enforced); `explain` tells why."""
    rbdir = tmp_path / "runbooks"
    rbdir.mkdir()
    (rbdir / "r.yaml").write_text(dedent(LADDER).replace("mode: auto", "mode: approve")
                                  + "  approval: {approvers: [alice]}\n")
    cfg = tmp_path / "aiops.yaml"
    cfg.write_text(f"apiVersion: aiops/v1\nkind: Config\nstate_dir: {tmp_path}/state\n"
                   f"runbooks: {{paths: [{rbdir}]}}\n")
    journal = Journal(tmp_path / "state" / "journal.sqlite")
    rem = Remediator(load_runbooks([rbdir]), journal, RecordingActuator(), Metrics(),
                     get_logger("test"))
    t0 = time.time()
    rem.handle(anomaly("latency_p99", "checkout", t=t0), t0)
    inc = journal.incidents()[0]
    assert inc.status == "awaiting-approval"
    denied = runner.invoke(app, ["approve", inc.id, "-c", str(cfg), "--approver", "mallory"])
    assert denied.exit_code == 1 and "may not approve" in denied.output
    res = runner.invoke(app, ["approve", inc.id, "-c", str(cfg), "--approver", "alice"])
    assert res.exit_code == 0, res.output
    assert journal.incident(inc.id).status == "running"  # type: ignore[union-attr]
    rem.tick(time.time() + 1.0, {})
    out = runner.invoke(app, ["explain", inc.id, "-c", str(cfg)])
    assert out.exit_code == 0
    assert "matched anomaly trigger" in out.output
    assert "approved by alice" in out.output and "approval-denied" in out.output
    assert f"action {inc.id}:0 scale" in out.output
