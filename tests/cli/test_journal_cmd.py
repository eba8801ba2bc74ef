"""`aiops journal check | migrate | export | import` on both engines, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psycopg

from aiops.actuators.record import RecordingActuator
from aiops.engines.remediate import Remediator
from aiops.journal import Journal
from aiops.journal.ddl import SCHEMA_VERSION
from aiops.telemetry.logging import get_logger
from aiops.telemetry.metrics import Metrics
from tests.realservers.postgres import PgDatabase
from tests.runbook.factories import alert, runbook

BOOK = """
apiVersion: aiops/v1
kind: Runbook
metadata: {name: bounce}
spec:
  mode: auto
  triggers: [{alert: {alertname: WebDown}}]
  target: {kind: SandboxWorkload, namespace: shop, name: '{{ labels.workload }}'}
  guards: {cooldown: 1h}
  steps: [{action: restart}]
"""


def aiops(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "aiops", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False)


def _config(tmp_path: Path, name: str, journal: str = "") -> Path:
    (tmp_path / "runbooks").mkdir(exist_ok=True)
    (tmp_path / "runbooks" / "bounce.yaml").write_text(BOOK)
    cfg = tmp_path / f"{name}.yaml"
    cfg.write_text(f"state_dir: state-{name}\nrunbooks: {{paths: [runbooks]}}\n"
                   f"http: {{enabled: false}}\n{journal}")
    return cfg


def test_a_host_moves_its_journal_from_sqlite_to_postgresql(tmp_path: Path,
                                                            pg_db: PgDatabase) -> None:
    """export from SQLite, migrate and import into PostgreSQL: the same incidents after."""
    old = _config(tmp_path, "old")
    j = Journal(tmp_path / "state-old" / "journal.sqlite")
    r = Remediator([runbook(BOOK)], j, RecordingActuator(), Metrics(), get_logger("t"))
    for i, w in enumerate(["web", "api", "web"]):
        r.handle(alert("WebDown", fingerprint=str(i), workload=w), 100.0 + i)
        r.tick(100.5 + i, {})
    j.close()
    new = _config(tmp_path, "new", pg_db.yaml())
    assert "no journal yet" in aiops("journal", "check", "-c", str(new), cwd=tmp_path).stdout
    dump = tmp_path / "journal.jsonl"
    done = aiops("journal", "export", "-c", str(old), "-o", str(dump), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "2 incidents" in done.stderr
    migrated = aiops("journal", "migrate", "-c", str(new), cwd=tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    assert f"schema 0 -> {SCHEMA_VERSION}" in migrated.stdout
    again = aiops("journal", "migrate", "-c", str(new), cwd=tmp_path)
    assert f"schema {SCHEMA_VERSION}: up to date" in again.stdout
    loaded = aiops("journal", "import", str(dump), "-c", str(new), cwd=tmp_path)
    assert loaded.returncode == 0 and "2 incidents" in loaded.stdout, loaded.stderr
    check = aiops("journal", "check", "-c", str(new), "--json", cwd=tmp_path)
    found = json.loads(check.stdout)
    assert found["ok"] and found["engine"] == "postgresql" and found["incidents"] == 2
    listed = [json.loads(aiops("incidents", "-c", str(c), "--json", cwd=tmp_path).stdout)
              for c in (old, new)]
    assert listed[0] == listed[1] and len(listed[0]) == 2
    twice = aiops("journal", "import", str(dump), "-c", str(new), cwd=tmp_path)
    assert twice.returncode == 2 and "already holds signals" in twice.stderr


def test_a_newer_or_unmigrated_postgres_schema_stops_the_daemon_in_one_line(
        tmp_path: Path, pg_db: PgDatabase) -> None:
    """migrate: manual refuses an empty database; a newer schema is refused by check and run."""
    manual = _config(tmp_path, "manual", pg_db.yaml().replace("}\n", ", migrate: manual}\n"))
    run = aiops("run", "--once", "-c", str(manual), cwd=tmp_path)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "aiops journal migrate" in lines[0], run.stderr
    pg_db.journal().close()  # migrated
    with psycopg.connect(pg_db.dsn, autocommit=True) as admin:
        admin.execute("INSERT INTO aiops.schema_migrations VALUES (7, 'future', 0)")
    for args in (["journal", "check"], ["run", "--once"]):
        got = aiops(*args, "-c", str(manual), cwd=tmp_path)
        text = (got.stdout + got.stderr).strip()
        assert got.returncode == 2 and len(text.splitlines()) == 1, text
        assert f"schema version 7 is newer than this aiops understands ({SCHEMA_VERSION})" \
            in text


def test_a_password_in_the_url_is_refused_with_its_line(tmp_path: Path) -> None:
    """Credentials are references: an inline password fails validation, located."""
    cfg = _config(tmp_path, "inline", "journal: {url: 'postgresql://u:hunter2@db/aiops'}\n")
    got = aiops("check", "-c", str(cfg), cwd=tmp_path)
    err = " ".join(got.stderr.split())
    assert got.returncode == 2 and "inline.yaml:4:" in err and "journal.url" in err
    assert "password_file" in err and "hunter2" not in err
