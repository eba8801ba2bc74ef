"""The daemon under attack: a real ``aiops run`` process with principals and bait runbooks.

:class:`AttackDaemon` writes a configuration into a temporary directory (the sandbox as
source and actuator, three principals, the default HTTP limits) and runbooks that give
hostile input something to bite on: a notify step whose ``Authorization`` header is a
planted secret by reference, templates that recurse, loop 10^8 times, repeat a string
10^10 times or try to mutate the labels, a command whose argv is templated from a label,
an approve-mode runbook that only ``alice`` may approve, and targets templated from
labels. It starts the daemon as a child process (so its RSS is its own), logging JSON
to a file the attack reads back for crashed cycles and planted secrets.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import yaml

from aiops.bench.realservers import free_port

RUNBOOKS = """\
apiVersion: aiops/v1
kind: Runbook
metadata: {{name: secret-probe}}
spec:
  mode: auto
  triggers: [{{alert: {{alertname: SecretProbe}}}}]
  target: {{kind: SandboxWorkload, namespace: shop, name: frontend}}
  steps:
    - action: notify
      with:
        url: {receiver}/hook
        body: {{text: 'probe {{{{ labels.probe }}}}'}}
        headers: {{Authorization: {{secret_file: {secret}}}, X-Team: sre}}
      on: {{failure: next}}
    - action: notify
      with:
        url: {receiver}/echo
        headers: {{Authorization: {{secret_file: {secret}}}}}
---
apiVersion: aiops/v1
kind: Runbook
metadata: {{name: hostile-recursion}}
spec:
  mode: auto
  triggers: [{{alert: {{alertname: HostileTemplate}}}}]
  target:
    kind: SandboxWorkload
    namespace: shop
    name: '{{% macro f(n) %}}{{{{ f(n + 1) }}}}{{% endmacro %}}{{{{ f(0) }}}}'
  steps: [{{action: restart}}]
---
apiVersion: aiops/v1
kind: Runbook
metadata: {{name: hostile-loop}}
spec:
  mode: auto
  triggers: [{{alert: {{alertname: HostileTemplate}}}}]
  when: 'range(10000) | map("string") | list | length > 0 and labels.workload * 3 != "x"'
  target: {{kind: SandboxWorkload, namespace: shop, name: '{{{{ labels.workload }}}}'}}
  steps:
    - action: notify
      with:
        url: {receiver}/hook
        body:
          text: >-
            {{% for i in range(10000) %}}{{% for j in range(10000) %}}
            {{% endfor %}}{{% endfor %}}
---
apiVersion: aiops/v1
kind: Runbook
metadata: {{name: hostile-memory}}
spec:
  mode: auto
  triggers: [{{alert: {{alertname: HostileTemplate}}}}]
  when: 'labels.update({{"namespace": "kube-system"}}) or true'
  target: {{kind: SandboxWorkload, namespace: shop, name: cart}}
  steps:
    - action: notify
      with: {{url: '{receiver}/hook', body: {{text: "{{{{ 'a' * 10**10 }}}}"}}}}
---
apiVersion: aiops/v1
kind: Runbook
metadata: {{name: argv-probe}}
spec:
  mode: auto
  triggers: [{{alert: {{alertname: ArgvProbe}}}}]
  target: {{kind: SandboxWorkload, namespace: shop, name: '{{{{ labels.workload }}}}'}}
  steps:
    - action: command
      with: {{argv: {argv}}}
---
apiVersion: aiops/v1
kind: Runbook
metadata: {{name: approval-gate}}
spec:
  mode: approve
  triggers: [{{alert: {{alertname: NeedsApproval}}}}]
  target:
    kind: SandboxWorkload
    namespace: '{{{{ labels.namespace }}}}'
    name: '{{{{ labels.workload }}}}'
  approval: {{approvers: [alice], timeout: 1h}}
  guards: {{allow_namespaces: [shop]}}
  steps: [{{action: restart}}]
---
apiVersion: aiops/v1
kind: Runbook
metadata: {{name: target-probe}}
spec:
  mode: dry-run
  triggers: [{{alert: {{alertname: TargetProbe}}}}]
  target:
    kind: Deployment
    namespace: '{{{{ labels.namespace }}}}'
    name: '{{{{ labels.deployment }}}}'
  steps: [{{action: restart}}]
"""
PRINCIPALS = {"alertmanager": ["alerts"], "alice": ["approve", "read"], "bob": ["approve"]}


class _Receiver(BaseHTTPRequestHandler):
    """The notify target: records Authorization headers; /echo answers 400 echoing them."""

    server: _ReceiverServer

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.seen.append(self.headers.get("Authorization", ""))
        echo = self.path == "/echo"
        body = json.dumps(dict(self.headers)).encode() if echo else b"{}"
        self.send_response(400 if echo else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return None


class _ReceiverServer(ThreadingHTTPServer):
    seen: list[str]


@dataclass
class AttackDaemon:
    """A running daemon, its tokens, planted secret, log file and notify receiver."""

    workdir: Path
    port: int = 0
    secret: str = field(default_factory=lambda: "planted-" + secrets.token_hex(16))
    tokens: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    receiver: _ReceiverServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def config(self) -> Path:
        return self.workdir / "aiops.yaml"

    @property
    def log(self) -> Path:
        return self.workdir / "daemon.log"

    @property
    def state_dir(self) -> Path:
        return self.workdir / "state"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def auth(self, principal: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[principal]}"}

    def received(self) -> list[str]:
        return list(self.receiver.seen) if self.receiver is not None else []

    def _write(self) -> None:
        assert self.receiver is not None
        receiver = f"http://127.0.0.1:{self.receiver.server_address[1]}"
        secret_file = self.workdir / "ops-secret"
        secret_file.write_text(f"Bearer {self.secret}\n")
        books = self.workdir / "runbooks"
        books.mkdir(exist_ok=True)
        (books / "attack.yaml").write_text(RUNBOOKS.format(
            receiver=receiver, secret=secret_file,
            argv=json.dumps([*_echo(), "{{ labels.unit }}"])))
        entries = []
        for name, roles in PRINCIPALS.items():
            self.tokens[name] = secrets.token_urlsafe(24)
            (self.workdir / f"{name}.token").write_text(self.tokens[name] + "\n")
            entries.append({"name": name, "roles": roles,
                            "token_file": str(self.workdir / f"{name}.token")})
        self.port = self.port or free_port()
        self.config.write_text(yaml.safe_dump({
            "apiVersion": "aiops/v1", "kind": "Config", "state_dir": str(self.state_dir),
            "source": {"type": "sandbox", "sandbox": {"trace": "builtin:nyc_taxi", "seed": 7}},
            "actuator": {"type": "sandbox"},
            "loop": {"interval": "15s", "speed": 60},
            "runbooks": {"paths": [str(books)]},
            "http": {"listen": "127.0.0.1", "port": self.port, "tokens": entries},
        }))

    def start(self, timeout: float = 90.0) -> None:
        """Start the receiver and the daemon; wait until /healthz answers."""
        self.receiver = _ReceiverServer(("127.0.0.1", 0), _Receiver)
        self.receiver.seen = []
        threading.Thread(target=self.receiver.serve_forever, daemon=True).start()
        self._write()
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "aiops", "run", "--config", str(self.config),
                 "--log-format", "json"], stdout=log, stderr=subprocess.STDOUT,
                cwd=self.workdir)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the daemon exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("the daemon did not answer /healthz in time")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.receiver is not None:
            self.receiver.shutdown()
            self.receiver.server_close()

    def log_events(self) -> list[dict[str, Any]]:
        """The daemon's JSON log lines (other lines, e.g. uvicorn's, as ``{"raw": ...}``)."""
        out: list[dict[str, Any]] = []
        for line in self.log.read_text(errors="replace").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                event = {"raw": line}
            out.append(event if isinstance(event, dict) else {"raw": line})
        return out

    def crashed_cycles(self) -> int:
        """Jobs that died of an unexpected exception, and ASGI exceptions (500s)."""
        return sum(1 for e in self.log_events()
                   if e.get("event") == "cycle_crashed" or "Exception in ASGI" in e.get("raw", ""))


def _echo() -> list[str]:
    return [sys.executable, "-c", "import sys; print(sys.argv[1:])"]


@contextmanager
def running(workdir: Path) -> Iterator[AttackDaemon]:
    """An :class:`AttackDaemon` started in ``workdir`` and stopped afterwards."""
    daemon = AttackDaemon(workdir=workdir)
    try:
        daemon.start()
        yield daemon
    finally:
        daemon.stop()
