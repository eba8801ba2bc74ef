"""A full disk under the journal: readiness says so, no acknowledged alert is lost, and the
daemon recovers by itself when space comes back (a tmpfs mounted by the test)."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from aiops.actuators.record import RecordingActuator
from aiops.bench.chaos_launch import Launcher
from aiops.engines.remediate import Remediator
from aiops.journal import Journal, JournalWriteError
from aiops.telemetry.logging import get_logger
from aiops.telemetry.metrics import Metrics
from tests.faults.daemon import Daemon, firing_body, replay_source, wait_until
from tests.runbook.factories import alert, runbook

RUNBOOK = """apiVersion: aiops/v1
kind: Runbook
metadata: {{name: note}}
spec:
  mode: auto
  triggers:
    - alert: {{alertname: DiskProbe, status: firing}}
  target: {{kind: Deployment, namespace: '{{{{ labels.namespace }}}}',
           name: '{{{{ labels.deployment }}}}'}}
  steps:
    - action: command
      with: {{argv: ['{script}', '{out}']}}
"""
NOTE = '#!/bin/sh\necho "$AIOPS_ACTION_ID" >> "$1"\n'
INTERVAL = 1.0


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 MiB tmpfs of our own (root only): fails loudly if it cannot be mounted."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mnt)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs for the full-disk test: {done.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(path: Path, *, leave: int = 0) -> None:
    """Write ``path`` until the filesystem has ``leave`` bytes free (or none)."""
    chunk = b"\0" * (1 << 20)
    with path.open("wb") as f:
        while True:
            room = shutil.disk_usage(path.parent).free - leave
            if room <= 0:
                break
            try:
                f.write(chunk[: min(len(chunk), room)])
                f.flush()
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                break
        with contextlib.suppress(OSError):
            os.fsync(f.fileno())


def poll_attempts(daemon: Daemon) -> float:
    """Poll cycles the daemon ran (each is counted before its state is saved, which is what
    a full disk makes crash)."""
    return sum(daemon.metric("aiops_cycles_total", result=r) or 0.0
               for r in ("ok", "source_error"))


def not_ready_within(daemon: Daemon, cycles: int) -> dict[str, str]:
    """Wait for /readyz 503; it must come before ``cycles`` more poll cycles start."""
    start = poll_attempts(daemon)
    _, checks = wait_until("/readyz 503", lambda: (r := daemon.ready())[0] == 503 and r)
    assert poll_attempts(daemon) - start <= cycles, (start, poll_attempts(daemon), checks)
    return dict(checks)


def test_full_disk_turns_readiness_off_loses_no_alert_and_recovers(
    tmp_path: Path, disk: Path, launcher: Launcher
) -> None:
    """No space left: /readyz 503 naming the journal within 3 cycles, webhooks answered 503
    (never a 2xx that is then lost), crashed cycles counted; space back: ready, all handled.
    Low headroom alone (under 16 MiB free) also turns readiness off before writes fail."""
    script, out = tmp_path / "note.sh", tmp_path / "notes"
    script.write_text(NOTE)
    script.chmod(0o755)
    (tmp_path / "rb").mkdir()
    (tmp_path / "rb" / "note.yaml").write_text(RUNBOOK.format(script=script, out=out))
    daemon = Daemon(tmp_path, {
        "state_dir": str(disk / "state"), "source": replay_source(tmp_path),
        "actuator": {"type": "record"}, "loop": {"interval": f"{INTERVAL}s", "backfill": "0s"},
        "runbooks": {"paths": [str(tmp_path / "rb")]},
    }, launcher=launcher).start()
    wait_until("ready", lambda: daemon.ready()[0] == 200)
    daemon.deliver(firing_body(alertname="DiskProbe", deployment="before"))
    wait_until("the first alert handled", lambda: out.exists() and out.read_text())

    fill(disk / "filler")  # no space at all, at once
    checks = not_ready_within(daemon, 3)
    assert checks["journal"].startswith("not writable"), checks
    statuses = [daemon.post_alerts(firing_body(alertname="DiskProbe", deployment=f"d{i}"))
                for i in range(5)]
    assert set(statuses) == {503}, statuses  # nothing acknowledged the journal did not keep
    crashed = wait_until("a crashed cycle", lambda: sum(
        daemon.metric("aiops_cycles_crashed_total", loop=j) or 0 for j in ("poll", "remediate")))
    assert crashed >= 1
    assert (daemon.metric("aiops_journal_write_errors_total") or 0) >= 1
    assert daemon.ready()[0] == 503
    assert daemon.alive(), "the daemon died"

    (disk / "filler").unlink()  # space back: ready again, every alert retried is handled
    wait_until("ready again", lambda: daemon.ready()[0] == 200)
    for i in range(5):
        daemon.deliver(firing_body(alertname="DiskProbe", deployment=f"d{i}"))
    wait_until("every alert handled", lambda: len(out.read_text().split()) == 6)
    targets = {r["target"] for r in daemon.query("SELECT target FROM incidents")}
    assert targets == {"Deployment/chaos/before", *(f"Deployment/chaos/d{i}" for i in range(5))}
    assert daemon.query("SELECT 1 FROM signals WHERE handled_at IS NULL") == []

    fill(disk / "filler", leave=8 << 20)  # headroom gone, writes would still succeed
    checks = not_ready_within(daemon, 3)
    assert checks["journal"].startswith("not writable: disk nearly full"), checks
    (disk / "filler").unlink()
    wait_until("ready again", lambda: daemon.ready()[0] == 200)
    assert daemon.stop() == 0


ALERT_RUNBOOK = """
apiVersion: aiops/v1
kind: Runbook
metadata: {name: page-full}
spec:
  mode: auto
  triggers:
    - alert: {alertname: PageFull, status: firing}
  target: {kind: Deployment, namespace: shop, name: '{{ labels.deployment }}'}
  steps:
    - action: restart
"""


def test_a_journal_at_its_page_limit_keeps_every_acknowledged_alert(tmp_path: Path) -> None:
    """SQLite's max_page_count reached between an alert's acknowledgement and its decision:
    the decision fails whole (nothing half-written), the alert stays unhandled, and it is
    decided once the journal can grow again."""
    path = tmp_path / "journal.sqlite"
    Journal(path).close()
    pages = sqlite3.connect(path).execute("PRAGMA page_count").fetchone()[0]
    full = Journal(path, max_page_count=pages + 6)
    acked: list[str] = []
    failed_at = None
    rem = Remediator([runbook(ALERT_RUNBOOK)], full, RecordingActuator(), Metrics(),
                     get_logger("test"))
    for i in range(200):  # ack alerts until one cannot be decided
        try:
            full.record_new_alerts([alert("PageFull", fingerprint=f"{i:04d}", deployment=f"w{i}",
                                          note="n" * 600)], float(i))
        except JournalWriteError:
            break  # the webhook would answer 503 here: never acknowledged
        acked.append(f"{i:04d}")
        try:
            rem.tick(float(i), {})
        except JournalWriteError:
            failed_at = i
            break
    assert failed_at is not None, "the journal never filled up"
    full.close()

    journal = Journal(path)  # room again (a new process, no page limit)
    unhandled = [a.fingerprint for a in journal.unhandled_alerts()]
    assert unhandled == [f"{failed_at:04d}"]  # its decision rolled back whole
    assert [i.signal_key for i in journal.incidents(limit=1000)
            if i.signal_key.startswith(f"alert:{failed_at:04d}:")] == []
    rem = Remediator([runbook(ALERT_RUNBOOK)], journal, RecordingActuator(), Metrics(),
                     get_logger("test"))
    rem.tick(1000.0, {})
    keys = {i.signal_key.split(":")[1] for i in journal.incidents(limit=1000)}
    assert keys == set(acked)  # every acknowledged alert decided, none lost
    assert journal.unhandled_alerts() == []
    journal.close()
