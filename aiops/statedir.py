"""The state directory: one owner for every file aiops keeps, and one way to write them.

Everything that must survive a restart lives under ``state_dir``: the journal, the
clock, detector and forecaster snapshots, the sandbox world. :func:`write_atomic` is
the only way those files (other than the SQLite journal, which does its own) are
written: a temporary file in the same directory, ``fsync``, ``rename`` over the old
file, ``fsync`` of the directory. A crash leaves the old file or the new, never half of
one, and a power cut cannot lose a rename that returned.

>>> import tempfile
>>> d = StateDir(Path(tempfile.mkdtemp()))
>>> d.write(StateDir.CLOCK, b'{"now": 1}')
>>> d.read(StateDir.CLOCK), d.read("missing.bin")
(b'{"now": 1}', None)
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, blob: bytes) -> None:
    """Replace ``path`` with ``blob`` atomically and durably (fsync file and directory)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
            fh.flush()
            os.fsync(fh.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class StateDir:
    """The paths under one state directory, and atomic reads and writes of them."""

    JOURNAL = "journal.sqlite"
    CLOCK = "clock.json"
    DETECTORS = "detectors.bin"
    FORECASTS = "forecasts.bin"
    SANDBOX = "sandbox.json"

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def path(self, name: str) -> Path:
        return self.root / name

    @property
    def journal(self) -> Path:
        return self.path(self.JOURNAL)

    def write(self, name: str, blob: bytes) -> None:
        write_atomic(self.path(name), blob)

    def read(self, name: str) -> bytes | None:
        try:
            return self.path(name).read_bytes()
        except FileNotFoundError:
            return None

    def __repr__(self) -> str:
        return f"StateDir({str(self.root)!r})"
