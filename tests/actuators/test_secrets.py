"""Secret references resolve only in the actuator, at apply time, and never reach messages."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from aiops.actuators.secrets import REDACTED, redact, resolve
from aiops.actuators.webhook import WebhookActuator
from aiops.errors import PermanentError
from aiops.model import Action, OutcomeStatus, Target

SECRET = "Bearer planted-s3cret-0xC0FFEE"
T = Target(kind="Deployment", namespace="shop", name="web")


class Echo(BaseHTTPRequestHandler):
    """Records the Authorization header; /echo answers 400 echoing it."""

    seen: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        Echo.seen.append(self.headers.get("Authorization", ""))
        echo = self.path == "/echo"
        # /echo: 180 bytes, then the header: a 200-character cut falls inside the secret
        auth = self.headers.get("Authorization", "")
        body = ("e" * 180 + auth).encode() if echo else b"ok"
        self.send_response(400 if echo else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def server() -> Iterator[str]:
    Echo.seen = []
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


def _action(url: str, headers: dict[str, object], *, dry_run: bool = False) -> Action:
    return Action(id="inc-1:0", kind="notify", target=T, dry_run=dry_run,
                  params={"url": url, "body": {"text": "hi"}, "headers": headers})


def test_file_and_env_references_resolve_at_apply_time(server: str, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The receiver gets the secret read from the file (and the env var) when applied."""
    (tmp_path / "ops").write_text(SECRET + "\n")
    out = WebhookActuator().apply(
        _action(server + "/hook", {"Authorization": {"secret_file": str(tmp_path / "ops")}}),
        now=0.0)
    assert out.status is OutcomeStatus.DONE and Echo.seen == [SECRET]
    monkeypatch.setenv("OPS_TOKEN", "env-secret")
    WebhookActuator().apply(_action(server + "/hook", {"Authorization": {"env": "OPS_TOKEN"}}),
                            now=0.0)
    assert Echo.seen[-1] == "env-secret"


def test_an_echoed_secret_is_redacted_from_the_outcome(server: str, tmp_path: Path) -> None:
    """A receiver echoing the headers in its 4xx body does not put the secret in the error."""
    (tmp_path / "ops").write_text(SECRET)
    with pytest.raises(PermanentError) as info:
        WebhookActuator().apply(
            _action(server + "/echo", {"Authorization": {"secret_file": str(tmp_path / "ops")}}),
            now=0.0)
    assert "planted" not in str(info.value)  # not even the part a truncation would leave
    assert "-> 400: eeee" in str(info.value)


def test_dry_run_reads_no_secret(server: str, tmp_path: Path) -> None:
    """A dry run posts nothing and does not need the secret to exist."""
    out = WebhookActuator().apply(
        _action(server + "/hook", {"Authorization": {"secret_file": str(tmp_path / "nope")}},
                dry_run=True), now=0.0)
    assert out.status is OutcomeStatus.DRY_RUN and Echo.seen == []
    assert "Authorization" not in json.dumps(out.after)


def test_missing_secrets_are_permanent_errors_naming_the_reference(tmp_path: Path) -> None:
    """An unset variable or unreadable file names the reference, never a value."""
    with pytest.raises(PermanentError, match="NOT_SET_ANYWHERE"):
        resolve({"env": "NOT_SET_ANYWHERE"}, environ={})
    with pytest.raises(PermanentError, match="cannot read"):
        resolve({"secret_file": str(tmp_path / "missing")})
    assert resolve("plain") == "plain"


def test_redact_removes_the_value_and_its_token() -> None:
    """The whole value and its long parts (the token after 'Bearer') are replaced."""
    assert redact(f"got {SECRET} / planted-s3cret-0xC0FFEE", [SECRET]) == \
        f"got {REDACTED} / {REDACTED}"
