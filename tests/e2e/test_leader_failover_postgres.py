"""Two daemons, one Lease, one PostgreSQL journal: the standby continues the leader's
incident (same id, its approval honoured, no step repeated) after a kill -9."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from tests.e2e.test_leader_failover import (
    LEASE,
    RENEW,
    STEP,
    free_port,
    history,
    ready,
    start,
    wait,
    with_suppressed_kill,
)
from tests.fakekube.plugin import deployment
from tests.fakekube.server import FakeKube, running
from tests.realservers.postgres import PgDatabase

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
WAIT = 15  # seconds step 1 holds the ladder: the leader is killed inside it
RUNBOOK = f"""apiVersion: aiops/v1
kind: Runbook
metadata: {{name: web-latency}}
spec:
  mode: approve
  approval: {{timeout: 1h}}
  triggers:
    - anomaly: {{metric: latency_p99, score_above: 0.9, for: 4s}}
  target:
    kind: Deployment
    namespace: '{{{{ labels.namespace }}}}'
    name: '{{{{ labels.workload }}}}'
  guards: {{cooldown: 10m}}
  steps:
    - action: scale
      with: {{delta: "+1", max: 10}}
    - action: wait
      with: {{duration: {WAIT}s}}
    - action: restart
"""


@pytest.fixture
def kube() -> Iterator[FakeKube]:
    yield from running()


#: Alice's token: the approver recorded is the principal the token names.
ALICE = "alice-approves-" + "x" * 16


def config(tmp: Path, name: str, kube_url: str, port: int, csv: Path, db: PgDatabase) -> Path:
    books = tmp / "runbooks"
    books.mkdir(exist_ok=True)
    (books / "web.yaml").write_text(RUNBOOK)
    cfg = tmp / f"{name}.yaml"
    cfg.write_text(
        f"state_dir: {tmp / name}\n"
        f"source: {{type: replay, replay: {{path: {csv}}}}}\n"
        "actuator:\n  type: kubernetes\n  kubernetes:\n"
        f"    host: '{kube_url}'\n    backoff: 0.05\n"
        f"    leader_election: {{enabled: true, namespace: shop, identity: {name},"
        f" lease_duration: {LEASE}s, renew_period: {RENEW}s}}\n"
        f"loop: {{interval: {STEP}s, speed: 1}}\n"
        f"runbooks: {{paths: [{books}]}}\n"
        f"http: {{port: {port}, tokens: [{{name: alice, token_env: AIOPS_TEST_ALICE,"
        f" roles: [approve, read]}}]}}\n"
        + db.yaml()
    )
    return cfg


def rows(db: PgDatabase, sql: str, *args: object) -> list[dict[str, Any]]:
    try:
        with psycopg.connect(db.dsn, row_factory=dict_row) as conn:
            return conn.execute(sql, args).fetchall()
    except psycopg.errors.UndefinedTable:  # not migrated yet
        return []


def test_standby_continues_the_incident_and_honours_the_approval(
    tmp_path: Path, kube: FakeKube, pg_db: PgDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Approve on the leader, kill -9 it mid-ladder: the standby finishes the same incident."""
    monkeypatch.setenv("AIOPS_TEST_ALICE", ALICE)  # both daemons read alice's token from it
    kube.create("deployments", deployment("web", replicas=2))
    t0 = time.time()
    csv = tmp_path / "history.csv"
    history(csv, t0, anomaly_at=t0 + 20)
    port_a, port_b, log = free_port(), free_port(), tmp_path / "daemons.log"
    a = start(config(tmp_path, "a", kube.url, port_a, csv, pg_db), log)
    procs = [a]
    try:
        wait("a to lead", lambda: ready(port_a), 60)
        b = start(config(tmp_path, "b", kube.url, port_b, csv, pg_db), log)
        procs.append(b)
        wait("b to stand by", lambda: _status(port_b) == 503, 60)

        pending = "SELECT * FROM aiops.incidents WHERE status = 'awaiting-approval'"
        wait("an incident awaiting approval", lambda: rows(pg_db, pending), 90)
        (inc,) = rows(pg_db, pending)
        approved = httpx.post(f"http://127.0.0.1:{port_a}/v1/approvals/{inc['id']}",
                              json={}, headers={"Authorization": f"Bearer {ALICE}"},
                              timeout=10)
        assert approved.status_code == 200, approved.text

        scaled = "SELECT * FROM aiops.actions WHERE status = 'done' AND step = 0"
        wait("a to scale (step 0)", lambda: rows(pg_db, scaled), 30)
        (step0,) = rows(pg_db, scaled)
        os.killpg(a.pid, signal.SIGKILL)  # inside step 1's wait
        now = rows(pg_db, "SELECT * FROM aiops.incidents WHERE id = %s", inc["id"])[0]
        assert (now["status"], now["step"]) == ("running", 1), now

        wait("b to lead", lambda: ready(port_b), LEASE + 2 * RENEW + 15)
        done = "SELECT * FROM aiops.incidents WHERE id = %s AND status = 'completed'"
        wait("b to finish the incident", lambda: rows(pg_db, done, inc["id"]), WAIT + 60)
        time.sleep(3 * STEP)  # the anomaly is still on: nothing else may act on web
    finally:
        for p in procs:
            with_suppressed_kill(p)

    (final,) = rows(pg_db, "SELECT * FROM aiops.incidents")  # the one incident, same id
    assert final["id"] == inc["id"] and final["approver"] == "alice"
    actions = rows(pg_db, "SELECT * FROM aiops.actions ORDER BY step")
    assert [(x["step"], x["kind"], x["status"]) for x in actions] == [
        (0, "scale", "done"), (2, "restart", "done")]
    assert actions[0]["owner"] == step0["owner"] != actions[1]["owner"]  # a scaled, b restarted
    kinds = [e["kind"] for e in rows(pg_db, "SELECT kind FROM aiops.events WHERE incident = %s"
                                      " ORDER BY id", inc["id"])]
    assert kinds.count("approved") == 1 and "awaiting-approval" in kinds
    deployed = kube.get("deployments", "shop", "web")
    assert deployed["spec"]["replicas"] == 3  # scaled once, by one, never again
    assert RESTARTED_AT in deployed["spec"]["template"]["metadata"].get("annotations", {})
    restarts = [w for w in kube.writes(r"/deployments/web$")
                if w.status < 300 and RESTARTED_AT in str(w.body)]
    assert len(restarts) == 1, f"web was restarted {len(restarts)} times"


def _status(port: int) -> int:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code
    except httpx.HTTPError:
        return 0
