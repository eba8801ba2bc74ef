"""Daemon processes a test starts, ended however the test run ends.

A daemon started in its own session (``start_new_session``, so a kill -9 of its group
is a realistic crash) does not die with pytest: a run stopped by Ctrl-C, SIGTERM or a
failing fixture used to leave such daemons running. :func:`spawn` starts one and
:func:`track` registers any process-group leader; the plugin
(:mod:`tests.realservers.plugin`) ends every registered group at the end of the session,
at interpreter exit, and on SIGTERM/SIGHUP/SIGINT before pytest goes down.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

_lock = threading.Lock()
_groups: set[int] = set()
_installed = False


def track(pid: int) -> int:
    """Register ``pid`` as a process-group leader to end with the test run."""
    with _lock:
        _groups.add(pid)
    return pid


def untrack(pid: int) -> None:
    with _lock:
        _groups.discard(pid)


def tracked() -> frozenset[int]:
    with _lock:
        return frozenset(_groups)


def spawn(argv: Sequence[str], *, log: Path | None = None, own_session: bool = True,
          **kwargs: Any) -> subprocess.Popen[bytes]:
    """``subprocess.Popen`` in a session of its own (by default), registered to be ended.

    ``log`` (appended) receives stderr; stdout goes nowhere unless ``stdout`` is given.
    """
    kwargs.setdefault("stdout", subprocess.DEVNULL)
    err = log.open("ab") if log is not None else kwargs.pop("stderr", None)
    try:
        proc = subprocess.Popen(list(argv), stderr=err, start_new_session=own_session,
                                **kwargs)
    finally:
        if log is not None and err is not None:
            err.close()
    track(proc.pid)
    return proc


def end(pid: int, sig: int = signal.SIGKILL) -> None:
    """Signal the group of ``pid`` (or the process, if it leads none) and forget it."""
    untrack(pid)
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def end_all(sig: int = signal.SIGKILL) -> int:
    """End every registered daemon; how many were signalled."""
    pids = tracked()
    for pid in pids:
        end(pid, sig)
    return len(pids)


def _on_signal(signum: int, frame: FrameType | None) -> None:
    end_all()
    if signum == signal.SIGINT:  # let pytest report the interruption as usual
        raise KeyboardInterrupt
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def install() -> None:
    """End registered daemons at exit and on SIGTERM/SIGHUP/SIGINT (main thread only)."""
    global _installed
    if _installed:
        return
    _installed = True
    atexit.register(end_all)
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(sig, _on_signal)
