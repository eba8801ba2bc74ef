"""A real headless Chromium (Debian ``chromium``) driven over the DevTools protocol.

Started with a fresh profile in a temp dir, every background service off (no calls to
Google hosts: the machine has no internet and the page must not need it), the DevTools
endpoint on a free loopback port. One page target, attached with a flat session; the
protocol runs over ``websocket-client`` (already a dependency of the ``kubernetes``
client). Answers to HTTP auth challenges as a person would to the browser's prompt
(``Fetch.authRequired`` -> ``continueWithAuth``), and collects console errors, uncaught
exceptions and log entries (CSP violations) for tests to assert on. Stopped by PID.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import websocket

BINARY = "chromium"
FLAGS = ["--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--mute-audio",
         "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0"]


class BrowserError(RuntimeError):
    """Chromium could not start, or a DevTools command failed."""


def available() -> str:
    """Path of the chromium binary, or a clear error saying how to install it."""
    path = shutil.which(BINARY)
    if path is None:
        raise BrowserError("chromium is not installed: apt-get install --no-install-recommends "
                           "chromium (or `make debs`)")
    return path


class Chromium:
    """One headless browser with one page; use as a context manager."""

    def __init__(self, workdir: Path, *, width: int = 1440, height: int = 1000,
                 credentials: tuple[str, str] | None = None) -> None:
        self.workdir = workdir
        self.profile = workdir / "profile"
        self.width, self.height = width, height
        self.credentials = credentials
        self.proc: subprocess.Popen[bytes] | None = None
        self.ws: websocket.WebSocket | None = None
        self.session = ""
        self._id = 0
        self.console_errors: list[str] = []
        self.exceptions: list[str] = []
        self.log_entries: list[dict[str, Any]] = []
        self.auth_challenges = 0

    # -- lifecycle ------------------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> Chromium:
        binary = available()
        self.profile.mkdir(parents=True, exist_ok=True)
        argv = [binary, *FLAGS, f"--user-data-dir={self.profile}",
                f"--window-size={self.width},{self.height}", "about:blank"]
        if os.geteuid() == 0:
            argv.insert(1, "--no-sandbox")  # Chromium's sandbox refuses to run as root
        log = (self.workdir / "chromium.log").open("ab")
        try:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        finally:
            log.close()
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not port_file.exists() or len(port_file.read_text().split()) < 2:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise BrowserError(f"chromium did not start: {self.tail()}")
            time.sleep(0.05)
        port, path = port_file.read_text().split()[:2]
        self.ws = websocket.create_connection(f"ws://127.0.0.1:{port}{path}", timeout=timeout,
                                              suppress_origin=True)
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget",
                                 {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.send(f"{domain}.enable")
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": self.width, "height": self.height, "deviceScaleFactor": 1,
                   "mobile": False})
        if self.credentials is not None:
            self.send("Fetch.enable", {"handleAuthRequests": True,
                                       "patterns": [{"urlPattern": "*"}]})
        return self

    def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                self.send("Browser.close", session=False, timeout=5.0)
            with contextlib.suppress(Exception):
                self.ws.close()
            self.ws = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def __enter__(self) -> Chromium:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def tail(self, n: int = 2000) -> str:
        with contextlib.suppress(OSError):
            return (self.workdir / "chromium.log").read_text(errors="replace")[-n:]
        return ""

    # -- protocol -------------------------------------------------------------------------

    def _write(self, method: str, params: dict[str, Any] | None, session: bool) -> int:
        assert self.ws is not None, "browser not started"
        self._id += 1
        message: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        self.ws.send(json.dumps(message))
        return self._id

    def send(self, method: str, params: dict[str, Any] | None = None, *, session: bool = True,
             timeout: float = 30.0) -> dict[str, Any]:
        """Run one DevTools command; events arriving meanwhile are handled."""
        want = self._write(method, params, session)
        deadline = time.monotonic() + timeout
        assert self.ws is not None
        while time.monotonic() < deadline:
            self.ws.settimeout(max(0.05, deadline - time.monotonic()))
            message = json.loads(self.ws.recv())
            if message.get("id") == want:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            if "method" in message:
                self._event(message["method"], message.get("params", {}))
        raise BrowserError(f"{method}: no answer within {timeout}s")

    def _event(self, method: str, params: dict[str, Any]) -> None:
        if method == "Fetch.requestPaused":
            self._write("Fetch.continueRequest", {"requestId": params["requestId"]}, True)
        elif method == "Fetch.authRequired":
            self.auth_challenges += 1
            user, password = self.credentials or ("", "")
            self._write("Fetch.continueWithAuth", {
                "requestId": params["requestId"],
                "authChallengeResponse": {"response": "ProvideCredentials", "username": user,
                                          "password": password}}, True)
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            self.exceptions.append(str(details.get("exception", {}).get("description")
                                       or details.get("text")))
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            self.console_errors.append(" ".join(str(a.get("value", a.get("description")))
                                                for a in params.get("args", [])))
        elif method == "Log.entryAdded":
            self.log_entries.append(params.get("entry", {}))

    # -- page -----------------------------------------------------------------------------

    def navigate(self, url: str) -> None:
        answer = self.send("Page.navigate", {"url": url})
        if answer.get("errorText"):
            raise BrowserError(f"navigating to {url}: {answer['errorText']}")

    def evaluate(self, expression: str) -> Any:
        """The JSON value of ``expression`` in the page (promises awaited)."""
        answer = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True})
        if "exceptionDetails" in answer:
            raise BrowserError(f"{expression[:80]}: {answer['exceptionDetails'].get('text')}")
        return answer.get("result", {}).get("value")

    def wait_for(self, expression: str, *, timeout: float, every: float = 0.25) -> Any:
        """Poll ``expression`` until it is truthy; its value, or an error after ``timeout``."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            last = self.evaluate(expression)
            if last:
                return last
            time.sleep(every)
        raise BrowserError(f"{expression[:120]} stayed {last!r} for {timeout}s")

    def screenshot(self, path: Path, *, full_page: bool = True) -> Path:
        """A PNG of the page (its whole height with ``full_page``)."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            height = int(self.evaluate("document.documentElement.scrollHeight") or self.height)
            params["clip"] = {"x": 0, "y": 0, "width": self.width, "height": height, "scale": 1}
            params["captureBeyondViewport"] = True
        data = self.send("Page.captureScreenshot", params)["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def screenshot_of(self, selector: str, path: Path, *, margin: int = 6) -> Path:
        """A PNG of the first element matching ``selector``."""
        box = self.evaluate(f"(() => {{ const r = document.querySelector({json.dumps(selector)})"
                            ".getBoundingClientRect(); return [r.left + scrollX, r.top + scrollY,"
                            " r.width, r.height]; })()")
        x, y, w, h = (float(v) for v in box)
        clip = {"x": max(0.0, x - margin), "y": max(0.0, y - margin), "width": w + 2 * margin,
                "height": h + 2 * margin, "scale": 1}
        data = self.send("Page.captureScreenshot", {"format": "png", "clip": clip,
                                                    "captureBeyondViewport": True})["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def text(self, selector: str) -> list[str]:
        """The text of every element matching ``selector``."""
        return list(self.evaluate(
            f"Array.from(document.querySelectorAll({json.dumps(selector)}))"
            ".map(e => e.textContent)") or [])


@contextlib.contextmanager
def browser(workdir: Path, **kwargs: Any) -> Iterator[Chromium]:
    """A started :class:`Chromium` for the duration of the block."""
    with Chromium(workdir, **kwargs) as b:
        yield b
