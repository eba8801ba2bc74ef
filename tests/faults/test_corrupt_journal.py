"""A damaged journal: ``aiops run`` refuses it with exit 2 and one line, changes nothing,
and ``--new-journal`` moves it aside (never a silent reset, never a traceback)."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from aiops.cli import _load_commands
from aiops.cli.app import app
from aiops.journal import Journal
from aiops.model import Alert
from tests.faults.daemon import replay_source

WAY_OUT = ("run 'aiops journal check' for details, or start with --new-journal to move it "
           "aside")


def _config(tmp_path: Path) -> Path:
    cfg = tmp_path / "aiops.yaml"
    cfg.write_text(yaml.safe_dump({
        "state_dir": str(tmp_path / "state"), "source": replay_source(tmp_path),
        "actuator": {"type": "record"}, "http": {"enabled": False},
        "loop": {"backfill": "0s"}, "runbooks": {"paths": []},
    }))
    return cfg


def _damage(path: Path, case: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if case == "empty":
        path.write_bytes(b"")
    elif case == "garbage":
        path.write_bytes(random.Random(3).randbytes(8192))
    else:  # a real journal with history, cut in half (a copy interrupted, a bad disk)
        j = Journal(path)
        alerts = [Alert(fingerprint=f"{i:016x}", status="firing",
                        labels={"alertname": "A", "pod": f"p{i}" * 40}, annotations={},
                        starts_at="2026-01-01T00:00:00Z", ends_at="", t=float(i))
                  for i in range(300)]
        j.record_new_alerts(alerts, 1.0)
        j.close()  # the last connection checkpoints the WAL into the file
        for side in ("-wal", "-shm"):
            path.with_name(path.name + side).unlink(missing_ok=True)
        data = path.read_bytes()
        assert len(data) >= 8 * 4096
        path.write_bytes(data[: len(data) // 2])


PROBLEMS = {
    "empty": "the file is empty (0 bytes)",
    "garbage": "the file is not an SQLite database",
    "truncated": "the database is corrupt (database disk image is malformed)",
}


def _journal_check(cfg: Path) -> tuple[int, str]:
    """``aiops journal check`` in-process (it only reads)."""
    _load_commands()
    result = CliRunner().invoke(app, ["journal", "check", "--config", str(cfg)])
    return result.exit_code, result.output


@pytest.mark.parametrize("case", ["empty", "garbage", "truncated"])
def test_a_damaged_journal_is_refused_in_one_line(tmp_path: Path, case: str) -> None:
    """0-byte, garbage and half-truncated journals: exit 2 and one pinned line, the file
    untouched; ``aiops journal check`` says the same."""
    cfg = _config(tmp_path)
    journal = tmp_path / "state" / "journal.sqlite"
    _damage(journal, case)
    before = journal.read_bytes()
    run = subprocess.run([sys.executable, "-m", "aiops", "run", "--config", str(cfg), "--once"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert run.stderr.splitlines() == [
        f"error: {journal}: refusing to use the journal: {PROBLEMS[case]}; {WAY_OUT}"]
    assert run.stdout == ""
    assert journal.read_bytes() == before, "a refused journal must not be changed"
    code, out = _journal_check(cfg)
    assert code == 2 and PROBLEMS[case] in out


def test_new_journal_moves_a_refused_file_aside(tmp_path: Path) -> None:
    """--new-journal starts afresh only when asked, keeping the refused file beside it."""
    cfg = _config(tmp_path)
    journal = tmp_path / "state" / "journal.sqlite"
    _damage(journal, "truncated")
    before = journal.read_bytes()
    fresh = subprocess.run([sys.executable, "-m", "aiops", "run", "--config", str(cfg),
                            "--once", "--new-journal"], capture_output=True, text=True,
                           timeout=120)
    assert fresh.returncode == 0, fresh.stderr
    assert "journal_replaced" in fresh.stderr
    moved = [m for m in journal.parent.glob("journal.sqlite.refused-*")
             if not m.name.endswith(("-wal", "-shm"))]
    assert len(moved) == 1 and moved[0].read_bytes() == before  # aside, not deleted
    assert _journal_check(cfg)[0] == 0
