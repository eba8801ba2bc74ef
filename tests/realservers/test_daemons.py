"""Daemons a test starts in their own session do not outlive an interrupted test run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INNER = '''
import time
from pathlib import Path
from tests.realservers import daemons

def test_leaves_a_daemon_running():
    """(inner run) starts a daemon in its own session, then hangs until interrupted."""
    proc = daemons.spawn(["sleep", "600"])
    Path(r"{pidfile}").write_text(str(proc.pid))
    time.sleep(600)
'''


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"  # dead, waiting for its new parent to reap it


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_interrupted_run_ends_the_daemons_it_started(tmp_path: Path, signum: int) -> None:
    """SIGTERM or Ctrl-C to pytest ends the daemon a test started with daemons.spawn."""
    pidfile = tmp_path / "daemon.pid"
    test = tmp_path / "test_inner.py"
    test.write_text(INNER.format(pidfile=pidfile))
    inner = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.realservers.plugin",
         "-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(test)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not pidfile.exists() or not pidfile.read_text():
            assert inner.poll() is None, inner.communicate()[0].decode()
            assert time.monotonic() < deadline, "the inner test never started its daemon"
            time.sleep(0.05)
        pid = int(pidfile.read_text())
        assert not _gone(pid)
        assert os.getpgid(pid) == pid  # its own session: pytest's death alone would spare it
        inner.send_signal(signum)
        inner.wait(60)
        deadline = time.monotonic() + 20
        while not _gone(pid):
            assert time.monotonic() < deadline, f"daemon {pid} outlived the interrupted run"
            time.sleep(0.05)
    finally:
        if inner.poll() is None:
            inner.kill()
            inner.wait(10)
        if pidfile.exists() and pidfile.read_text() and not _gone(int(pidfile.read_text())):
            os.killpg(int(pidfile.read_text()), signal.SIGKILL)
