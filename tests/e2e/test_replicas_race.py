"""Two replica processes on one PostgreSQL journal race 1,000 identical alerts over 50
targets: every alert decided once, every guard held, no action applied twice."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import psycopg

from tests.e2e.replica_worker import SIGNALS, TARGETS
from tests.realservers.postgres import PgDatabase

ROOT = Path(__file__).resolve().parents[2]


def test_two_replicas_racing_double_nothing(tmp_path: Path, pg_db: PgDatabase) -> None:
    """0 doubled actions; one restart per target (cooldown), at most two scales (max_runs)."""
    pg_db.journal().close()  # migrated before the race (the replicas would too, serialized)
    config = json.dumps({"url": pg_db.url, "password_file": str(pg_db.server.password_file)})
    world = tmp_path / "applied.jsonl"
    procs = [subprocess.Popen([sys.executable, "-m", "tests.e2e.replica_worker", config,
                               str(world), str(seed)], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, start_new_session=True)
             for seed in (1, 2)]
    try:
        outs = [p.communicate(timeout=280) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-3000:]
    applied = [json.loads(line) for line in world.read_text().splitlines()]
    ids = Counter(a["id"] for a in applied)
    assert [i for i, n in ids.items() if n > 1] == [], "an action was applied twice"
    per = Counter((a["runbook"], a["target"]) for a in applied)
    targets = [f"SandboxWorkload/shop/w{i}" for i in range(TARGETS)]
    assert [per[("bounce", t)] for t in targets] == [1] * TARGETS  # cooldown 1h
    assert all(1 <= per[("grow", t)] <= 2 for t in targets)  # max_runs 2 per 1h
    assert len({a["pid"] for a in applied}) == 2, "one replica did all the work"
    with psycopg.connect(pg_db.dsn) as db:
        signals = db.execute("SELECT count(*), count(handled_at) FROM aiops.signals").fetchone()
        statuses = dict(db.execute("SELECT status, count(*) FROM aiops.incidents"
                                   " GROUP BY status").fetchall())
        actions = dict(db.execute("SELECT status, count(*) FROM aiops.actions"
                                  " GROUP BY status").fetchall())
    assert signals == (SIGNALS, SIGNALS)  # every alert stored once and decided once
    assert set(statuses) == {"completed"} and statuses["completed"] == len(applied)
    assert actions == {"done": len(applied)}
