"""Start the whole real loop on this machine, watch it, stop it by PID.

In order, each on loopback, each waited for:

1. the world server (``aiops world-server``): the sandbox world as a scrape target and an
   actuation API, at ``speed``;
2. Alertmanager (Debian ``prometheus-alertmanager``), sending to the daemon's webhook;
3. Prometheus (Debian ``prometheus``) scraping the world once per daemon interval and
   evaluating the demo's alert rules, until ``up`` of the world is 1;
4. the daemon (``aiops run``) on the Prometheus source, acting through the world server
   and following its clock, with the webhook and the page.

Everything lives in ``workdir`` (generated configs, data, logs) and ``demo.json`` there
lists every URL and PID. :meth:`Demo.stop` stops the daemon first (SIGTERM: it finishes
its cycle and closes the journal), then the servers.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import yaml

from aiops.bench import realservers
from aiops.config import parse_duration
from aiops.demo.configs import alert_rules, daemon_config, prom_duration

MARKER = ".aiops-demo"
DEFAULT_PORTS = {"world": 9470, "prometheus": 9090, "alertmanager": 9093}


class DemoError(RuntimeError):
    """A part of the demo could not start; the message says which and why."""


def port_or_free(port: int, host: str = "127.0.0.1") -> int:
    """``port`` when it is free on ``host``, else any free port."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return realservers.free_port(host)
    return port


def prepare_dir(workdir: Path) -> None:
    """Create ``workdir``, emptying it only when an earlier demo made it."""
    if workdir.exists() and any(workdir.iterdir()):
        if not (workdir / MARKER).exists():
            raise DemoError(f"{workdir} is not empty and was not made by `aiops demo`: "
                            "pass --dir with a new or empty directory")
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / MARKER).write_text("made by aiops demo; emptied at each start\n")


@dataclass
class Child:
    """A process the demo started (the world server or the daemon)."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path | None

    def tail(self, n: int = 1500) -> str:
        if self.log is None:
            return ""
        with contextlib.suppress(OSError):
            return self.log.read_text(errors="replace")[-n:]
        return ""

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


@dataclass
class Demo:
    """The running demo: its processes and URLs."""

    workdir: Path
    config: Path
    speed: float
    daemon_output: IO[bytes] | None = None  # None: the daemon writes to our terminal
    urls: dict[str, str] = field(default_factory=dict)
    children: list[Child] = field(default_factory=list)
    servers: list[realservers.ServerProcess] = field(default_factory=list)

    def start(self) -> Demo:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        prepare_dir(self.workdir)
        base = yaml.safe_load(self.config.read_text(encoding="utf-8")) or {}
        interval = parse_duration((base.get("loop") or {}).get("interval", 15.0))
        ports = {name: port_or_free(p) for name, p in DEFAULT_PORTS.items()}
        ports["daemon"] = port_or_free(int((base.get("http") or {}).get("port", 9464)))
        host = "127.0.0.1"
        self.urls = {name: f"http://{host}:{p}" for name, p in ports.items()}

        world_log = self.workdir / "world-server.log"
        self.children.append(self._spawn("world server", [
            "world-server", "--port", str(ports["world"]), "--speed", f"{self.speed:g}",
            "--config", str(self.config)], world_log))
        self._wait_http("world server", f"{self.urls['world']}/healthz", self.children[-1])

        am = realservers.alertmanager(
            self.workdir / "alertmanager", webhook_url=f"{self.urls['daemon']}/v1/alerts",
            port=ports["alertmanager"], group_wait=prom_duration(10, self.speed),
            group_interval=prom_duration(300, self.speed),
            repeat_interval=prom_duration(4 * 3600, self.speed))
        self.servers.append(am)
        am.start()

        scrape = prom_duration(interval, self.speed)
        prom = realservers.prometheus(
            self.workdir / "prometheus", targets=[f"{host}:{ports['world']}"], interval=scrape,
            scrape_timeout=scrape, rules=alert_rules(self.speed),
            alertmanager=f"{host}:{ports['alertmanager']}", port=ports["prometheus"])
        self.servers.append(prom)
        prom.start()
        realservers.wait_for_up(prom.url, f"{host}:{ports['world']}", timeout=60)

        cfg = daemon_config(base, base_dir=self.config.resolve().parent,
                            state_dir=self.workdir / "aiops-state",
                            prometheus_url=self.urls["prometheus"],
                            world_url=self.urls["world"], port=ports["daemon"],
                            extra_runbooks=self._demo_runbooks())
        daemon_cfg = self.workdir / "aiops.yaml"
        daemon_cfg.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
        self.children.append(self._spawn("daemon", ["run", "-c", str(daemon_cfg)], None))
        self._wait_http("daemon", f"{self.urls['daemon']}/healthz", self.children[-1])
        self._write_manifest(daemon_cfg)

    def _demo_runbooks(self) -> list[Path]:
        """``runbooks/demo`` (alert-driven runbooks) of the checkout the config is in."""
        books = (self.config.resolve().parent.parent / "runbooks" / "demo").resolve()
        return [books] if books.is_dir() else []

    def _spawn(self, name: str, args: list[str], log: Path | None) -> Child:
        out: Any = self.daemon_output if log is None else log.open("wb")
        try:
            # Its own session: a Ctrl-C reaches the demo only, which stops the parts in order.
            proc = subprocess.Popen([sys.executable, "-m", "aiops", *args], stdout=out,
                                    stderr=subprocess.STDOUT if out is not None else None,
                                    start_new_session=True)
        finally:
            if log is not None:
                out.close()
        return Child(name=name, proc=proc, log=log)

    def _wait_http(self, what: str, url: str, child: Child, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if child.proc.poll() is not None:
                raise DemoError(f"{what} exited with {child.proc.returncode}: {child.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=1.0).status_code == 200:
                    return
            time.sleep(0.1)
        raise DemoError(f"{what} did not answer {url} within {timeout:g}s: {child.tail()}")

    def _write_manifest(self, daemon_cfg: Path) -> None:
        pids = {c.name: c.proc.pid for c in self.children}
        pids.update({s.name: s.proc.pid for s in self.servers if s.proc is not None})
        manifest = {"speed": self.speed, "urls": self.urls, "daemon_config": str(daemon_cfg),
                    "pids": pids}
        (self.workdir / "demo.json").write_text(json.dumps(manifest, indent=2))

    def faults(self) -> list[dict[str, Any]]:
        """The world's fault schedule (simulated times) and its clock's ``now``."""
        answer = httpx.get(f"{self.urls['world']}/v1/faults", timeout=5.0).json()
        return [{**f, "now": answer["now"]} for f in answer["faults"]]

    def exited(self) -> str | None:
        """The name and log of a part that stopped by itself, if any."""
        for c in self.children:
            if c.proc.poll() is not None:
                return f"{c.name} exited with {c.proc.returncode}: {c.tail()}"
        for s in self.servers:
            if s.proc is not None and s.proc.poll() is not None:
                return f"{s.name} exited with {s.proc.returncode}: {s.tail()}"
        return None

    def stop(self) -> None:
        """The daemon first (graceful), then the world server and the Debian servers."""
        for c in reversed(self.children):
            c.stop()
        for s in reversed(self.servers):
            s.stop()

