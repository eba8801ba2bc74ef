"""Step kinds and ladder control: wait, notify over HTTP, command, retry, timeout, on: stop."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from aiops.actuators.base import Executors
from aiops.actuators.command import CommandActuator
from aiops.actuators.record import RecordingActuator
from aiops.actuators.webhook import WebhookActuator
from aiops.engines.remediate import Remediator
from aiops.errors import TemporaryError
from aiops.journal import Journal
from aiops.model import Action, Decision, Outcome
from aiops.telemetry.logging import get_logger
from aiops.telemetry.metrics import Metrics
from tests.runbook.factories import LADDER, anomaly, runbook

HEAD = LADDER[: LADDER.index("  guards:")] + "  guards: {cooldown: 10m}\n"


class Hook(BaseHTTPRequestHandler):
    bodies: ClassVar[list[dict[str, object]]] = []

    def do_POST(self) -> None:
        Hook.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture()
def hook_url() -> Iterator[str]:
    Hook.bodies = []
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}/hook"
    finally:
        srv.shutdown()
        srv.server_close()


def _rem(tmp_path: Path, steps: str, actuator: object | None = None) -> Remediator:
    webhook = WebhookActuator(timeout=5.0)
    executors = Executors(
        workloads=actuator or RecordingActuator(),  # type: ignore[arg-type]
        by_kind={"notify": webhook, "webhook": webhook, "command": CommandActuator()})
    return Remediator([runbook(HEAD + "  steps:\n" + steps)], Journal(tmp_path / "j.sqlite"),
                      executors, Metrics(), get_logger("test"))


def test_wait_then_notify_posts_the_rendered_body(tmp_path: Path, hook_url: str) -> None:
    """A wait holds the ladder for its duration; notify POSTs its templated body for real."""
    r = _rem(tmp_path, f"""\
    - action: restart
    - action: wait
      with: {{duration: 2m}}
    - action: notify
      with: {{url: '{hook_url}', body: {{text: 'restarted {{{{ labels.workload }}}}'}}}}
""")
    r.handle(anomaly("latency_p99", "checkout", t=0.0), 0.0)
    r.tick(1.0, {})
    r.tick(100.0, {})
    assert Hook.bodies == []
    r.tick(122.0, {})
    assert Hook.bodies == [{"text": "restarted checkout"}]
    inc = r.journal.incidents()[0]
    assert inc.status == "completed"


def test_command_failure_with_on_stop_ends_the_ladder(tmp_path: Path) -> None:
    """A failing command with `on: {failure: stop}` stops before the next step."""
    r = _rem(tmp_path, """\
    - action: command
      with: {argv: [sh, -c, 'exit 3']}
      on: {failure: stop}
    - action: restart
""")
    r.handle(anomaly("latency_p99", "checkout", t=0.0), 0.0)
    r.tick(1.0, {})
    inc = r.journal.incidents()[0]
    assert inc.status == "stopped"
    assert "sh exited 3" in r.journal.timeline(inc.id)[-1].reason


class Flaky(RecordingActuator):
    """Answers 'try again in 30 s' the first ``fails`` times, then applies."""

    def __init__(self, fails: int) -> None:
        super().__init__(replicas=2)
        self.fails = fails

    def apply(self, action: Action, *, now: float) -> Outcome:
        if self.fails > 0:
            self.fails -= 1
            raise TemporaryError("409 conflict", retry_after=30.0)
        return super().apply(action, now=now)


def test_retry_honours_retry_after_then_gives_up(tmp_path: Path) -> None:
    """Temporary errors are retried after retry_after (doubling) up to `retry` times."""
    ok = Flaky(fails=2)
    r = _rem(tmp_path, "    - action: restart\n      retry: 2\n", ok)
    r.handle(anomaly("latency_p99", "checkout", t=0.0), 0.0)
    for t in (1.0, 10.0, 31.0, 50.0, 61.0, 90.0):
        r.tick(t, {})
    assert ok.applied == [] and r.journal.incidents()[0].status == "running"
    r.tick(91.0, {})
    assert [a.kind for a in ok.applied] == ["restart"]
    assert r.journal.incidents()[0].status == "completed"
    retries = [e for e in reversed(r.journal.events()) if e.kind == "retry"]
    assert len(retries) == 2 and "in 30s" in retries[0].reason and "in 1m" in retries[1].reason
    assert all(e.code == "action-retry" for e in retries)
    bad = Flaky(fails=5)
    r2 = _rem(tmp_path / "b", "    - action: restart\n      retry: 1\n", bad)
    r2.handle(anomaly("latency_p99", "checkout", t=0.0), 0.0)
    for t in (1.0, 40.0, 80.0):
        r2.tick(t, {})
    assert bad.applied == [] and r2.journal.incidents()[0].status == "exhausted"


def test_step_timeout_fails_the_step(tmp_path: Path) -> None:
    """A step still retrying past its timeout fails (and the ladder moves on)."""
    flaky = Flaky(fails=100)
    r = _rem(tmp_path, "    - action: restart\n      retry: 10\n      timeout: 1m\n"
                       "    - action: rollback\n", flaky)
    r.handle(anomaly("latency_p99", "checkout", t=0.0), 0.0)
    for t in (1.0, 31.0, 61.0, 91.0):
        r.tick(t, {})
    inc = r.journal.incidents()[0]
    assert inc.step == 1
    assert any("timed out after 1m" in e.reason for e in r.journal.timeline(inc.id))


def test_unused_runs_take_no_guard_slot(tmp_path: Path) -> None:
    """A run whose only action failed leaves no cooldown behind: the next signal runs."""
    class Broken(RecordingActuator):
        def apply(self, action: Action, *, now: float) -> Outcome:
            from aiops.errors import PermanentError

            raise PermanentError("403 forbidden")

    r = _rem(tmp_path, "    - action: restart\n", Broken())
    r.handle(anomaly("latency_p99", "checkout", t=0.0), 0.0)
    r.tick(1.0, {})
    assert r.journal.incidents()[0].status == "exhausted"
    p = r.handle(anomaly("latency_p99", "checkout", t=60.0), 60.0)[0]
    assert p.decision is Decision.RUN
