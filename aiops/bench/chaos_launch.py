"""A fork server for the chaos benchmark: import ``aiops`` once, then fork one daemon per
request, each running the CLI exactly as ``python -m aiops ARGS`` would.

The benchmark restarts the daemon dozens of times. A fresh interpreter spends seconds of
CPU importing numpy, scipy, river and the Kubernetes client, more than a life of the
daemon, and on a shared machine that dominates the run. Here the imports happen once;
each ``go`` line on stdin forks a child that starts a session of its own (its process
group is what a kill ends), points stderr at the log and runs the unmodified CLI: a real
daemon process with its own pid, sockets, journal connection and threads (the server
itself never starts a thread, so forking it is safe).

Protocol (one line each): stdin ``go`` (the server's own LOG and ARGS) or a JSON object
``{"log": ..., "args": [...]}`` -> stdout ``pid N``; when a child ends, stdout
``exit N CODE`` (negative: killed by that signal). End of stdin ends the server (its
children are not touched: they are the harness's to kill).

Usage: ``python -m aiops.bench.chaos_launch LOG [run --config aiops.yaml ...]``;
:class:`Launcher` is the harness's side (start the server, spawn, learn exits) and
:class:`Life` one daemon (kill -9 its group, or stop it with SIGTERM).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import runpy
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path


def _child(log: str, args: list[str]) -> None:
    """In the forked child: become a session leader and run the CLI; never returns."""
    code = 1
    try:
        os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        err = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.dup2(null, 0)
        os.dup2(null, 1)
        os.dup2(err, 2)
        sys.argv = ["aiops", *args]
        try:
            runpy.run_module("aiops", run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        os._exit(code)


def _reap() -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        code = os.waitstatus_to_exitcode(status)
        print(f"exit {pid} {code}", flush=True)


#: Imported before the first fork: everything ``aiops run`` loads that takes time.
WARM = (
    "apscheduler.schedulers.background", "httpx", "rich.console", "typer", "uvicorn",
    "aiops.actuators.command", "aiops.actuators.kubernetes", "aiops.actuators.webhook",
    "aiops.bench.autoscale", "aiops.bench.nab", "aiops.bench.throughput",
    "aiops.engines.forecast", "aiops.engines.remediate", "aiops.engines.scrape",
    "aiops.journal", "aiops.runbook", "aiops.sources.prometheus", "aiops.sources.replay",
)


def _warm() -> None:
    for name in WARM:
        importlib.import_module(name)
    # The Kubernetes client loads its API classes (thousands of models) on first use.
    from aiops.actuators.kubernetes_api import KubeApi
    from aiops.config.actuators import KubernetesConfig

    KubeApi(KubernetesConfig(host="http://127.0.0.1:9")).close()


def main() -> None:
    _warm()
    log, args = sys.argv[1], sys.argv[2:]
    while True:
        ready, _, _ = select.select([sys.stdin], [], [], 0.05)
        _reap()
        if not ready:
            continue
        line = sys.stdin.readline()
        if not line:
            return
        if line.strip() == "go":
            child_log, child_args = log, args
        else:
            asked = json.loads(line)
            child_log, child_args = str(asked["log"]), [str(a) for a in asked["args"]]
        pid = os.fork()
        if pid == 0:
            _child(child_log, child_args)
        print(f"pid {pid}", flush=True)


class Launcher:
    """The fork server (:mod:`aiops.bench.chaos_launch`): one warm ``aiops ARGS`` per
    :meth:`spawn`, each in a session of its own; tracks when each one exits."""

    def __init__(self, args: Sequence[str], log: Path) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "aiops.bench.chaos_launch", str(log), *map(str, args)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log.open("ab"),
            start_new_session=True)
        self._log = log
        self._lock = threading.Lock()
        self._pids: list[int] = []
        self._spawned = threading.Condition(self._lock)
        self.exits: dict[int, int] = {}
        self._reader = threading.Thread(target=self._read, name="chaos-launcher", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for raw in self._proc.stdout:
            what, *nums = raw.decode().split()
            with self._lock:
                if what == "pid":
                    self._pids.append(int(nums[0]))
                elif what == "exit":
                    self.exits[int(nums[0])] = int(nums[1])
                self._spawned.notify_all()

    def spawn(self, args: Sequence[str] | None = None, *, log: Path | None = None) -> Life:
        """A new daemon: the server's own arguments and log, or these."""
        assert self._proc.stdin is not None
        line = b"go\n" if args is None else (json.dumps(
            {"args": [str(a) for a in args], "log": str(log or self._log)}) + "\n").encode()
        with self._lock:
            seen = len(self._pids)
            self._proc.stdin.write(line)
            self._proc.stdin.flush()
            if not self._spawned.wait_for(lambda: len(self._pids) > seen, timeout=30):
                raise RuntimeError("the chaos fork server did not start a daemon")
            return Life(self, self._pids[seen])

    @property
    def pid(self) -> int:
        """The fork server's own pid (it leads a process group of its own)."""
        return self._proc.pid

    def exited(self, pid: int, timeout: float) -> int | None:
        with self._lock:
            self._spawned.wait_for(lambda: pid in self.exits, timeout=timeout)
            return self.exits.get(pid)

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        try:
            self._proc.wait(10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(10)


class Life:
    """One daemon process; :meth:`kill` is SIGKILL to its group, idempotent, thread-safe."""

    def __init__(self, launcher: Launcher, pid: int) -> None:
        self.launcher = launcher
        self.pid = pid
        self._lock = threading.Lock()
        self.killed = False

    @property
    def returncode(self) -> int | None:
        return self.launcher.exits.get(self.pid)

    def alive(self) -> bool:
        return self.returncode is None

    def kill(self) -> None:
        with self._lock:
            if not self.killed:
                self.killed = True
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGKILL)
            if self.launcher.exited(self.pid, 30) is None:
                raise RuntimeError(f"daemon {self.pid} survived SIGKILL")

    def stop(self) -> int:
        """SIGTERM, as systemd stops a service; the exit code (SIGKILL after 30 s)."""
        os.killpg(self.pid, signal.SIGTERM)
        code = self.launcher.exited(self.pid, 30)
        if code is None:
            self.kill()
            return -signal.SIGKILL
        return code


if __name__ == "__main__":
    main()
