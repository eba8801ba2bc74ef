"""The webhook/notify actuator against a real loopback HTTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from aiops.actuators.webhook import WebhookActuator
from aiops.errors import PermanentError, TemporaryError
from aiops.model import Action, OutcomeStatus, Target

T = Target(kind="Deployment", namespace="shop", name="web")


class Recorder(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, dict[str, object], dict[str, str]]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Recorder.received.append((self.path, body, dict(self.headers)))
        code = 200
        if self.path.startswith("/status/"):
            code = int(self.path.rsplit("/", 1)[1])
        self.send_response(code)
        if code == 429:
            self.send_header("Retry-After", "7")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture()
def server() -> Iterator[str]:
    Recorder.received = []
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


def _action(url: str, *, dry_run: bool = False) -> Action:
    return Action(id="inc-1:2", kind="notify", target=T, dry_run=dry_run,
                  params={"url": url, "body": {"text": "scaled web"}, "headers": {"X-Team": "a"}})


def test_posts_json_with_idempotency_key(server: str) -> None:
    """A 2xx POST is done; the body is the JSON given and the action id is the key."""
    out = WebhookActuator().apply(_action(server + "/hook"), now=0.0)
    assert out.status is OutcomeStatus.DONE and out.after["status"] == 200
    path, body, headers = Recorder.received[0]
    assert path == "/hook" and body == {"text": "scaled web"}
    assert headers["Idempotency-Key"] == "inc-1:2" and headers["X-Team"] == "a"


def test_5xx_and_429_are_temporary_4xx_permanent(server: str) -> None:
    """Server errors and 429 ask for a retry (honouring Retry-After); 404 does not."""
    hook = WebhookActuator()
    with pytest.raises(TemporaryError) as info:
        hook.apply(_action(server + "/status/503"), now=0.0)
    assert info.value.retry_after == 10.0
    with pytest.raises(TemporaryError) as info:
        hook.apply(_action(server + "/status/429"), now=0.0)
    assert info.value.retry_after == 7.0
    with pytest.raises(PermanentError, match="404"):
        hook.apply(_action(server + "/status/404"), now=0.0)


def test_dry_run_and_unreachable(server: str) -> None:
    """A dry run sends nothing; a closed port is a temporary error."""
    out = WebhookActuator().apply(_action(server + "/hook", dry_run=True), now=0.0)
    assert out.status is OutcomeStatus.DRY_RUN and Recorder.received == []
    with pytest.raises(TemporaryError):
        WebhookActuator(timeout=2.0).apply(_action("http://127.0.0.1:9/x"), now=0.0)
    with pytest.raises(PermanentError):
        WebhookActuator().apply(_action("file:///etc/passwd"), now=0.0)
