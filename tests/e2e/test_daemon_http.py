"""The running daemon's HTTP API: approvals drive `approve` mode, webhooks reach the journal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from aiops.config import load_config
from aiops.daemon import Daemon, RunOptions
from tests.e2e.sandbox_config import RUNBOOKS, query

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures"
TOKEN = "s3cret-token"


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    (tmp_path / "token").write_text(TOKEN + "\n")
    cfg = tmp_path / "aiops.yaml"
    cfg.write_text(
        f"mode: approve\nstate_dir: {tmp_path / 'state'}\n"
        f"runbooks: {{paths: [{RUNBOOKS}]}}\n"
        "http: {port: 0, token_file: token}\n"
    )
    d = Daemon(load_config(cfg), RunOptions(stepped=True))
    d.start_http()
    try:
        yield d
    finally:
        d.close()


def url(d: Daemon, path: str) -> str:
    assert d.http is not None
    return f"http://127.0.0.1:{d.http.port}{path}"


def run_until_awaiting(d: Daemon, tmp_path: Path) -> str:
    for _ in range(int(2 * 3600 / d.config.loop.interval)):
        d.cycle()
        d.clock.advance(d.config.loop.interval)
        rows = query(tmp_path, "SELECT id FROM incidents WHERE status = 'awaiting-approval'")
        if rows:
            return str(rows[0]["id"])
    raise AssertionError("no incident awaited approval within two simulated hours")


def test_approve_mode_waits_for_an_approval_over_http(daemon: Daemon, tmp_path: Path) -> None:
    """An incident in approve mode does nothing until POST /v1/approvals/{id}, then runs."""
    incident = run_until_awaiting(daemon, tmp_path)
    assert query(tmp_path, "SELECT id FROM actions") == []
    listed = httpx.get(url(daemon, "/v1/incidents?status=awaiting-approval")).json()
    assert [i["id"] for i in listed["incidents"]] == [incident]

    target = url(daemon, f"/v1/approvals/{incident}")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert httpx.post(target, json={"approver": "alice"}).status_code == 401
    bad = httpx.post(target, json={"approver": ""}, headers=auth)
    assert bad.status_code == 400 and "approver" in bad.json()["error"]
    missing = httpx.post(url(daemon, "/v1/approvals/nope"), json={"approver": "a"}, headers=auth)
    assert missing.status_code == 404
    ok = httpx.post(target, json={"approver": "alice"}, headers=auth)
    assert ok.status_code == 200, ok.text

    daemon.cycle()
    actions = query(tmp_path, "SELECT incident, status FROM actions")
    assert [(a["incident"], a["status"]) for a in actions] == [(incident, "done")]
    again = httpx.post(target, json={"approver": "alice"}, headers=auth)
    assert again.status_code == 409 and "not awaiting approval" in again.json()["error"]


def test_webhook_alert_is_journaled_before_the_answer(daemon: Daemon, tmp_path: Path) -> None:
    """A captured Alertmanager body posted to the daemon is in the journal when 200 returns."""
    body = json.loads((FIXTURES / "alertmanager-v0.25-firing.json").read_text())
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert httpx.post(url(daemon, "/v1/alerts"), json=body).status_code == 401
    r = httpx.post(url(daemon, "/v1/alerts"), json=body, headers=auth)
    assert r.status_code == 200, r.text
    rows = query(tmp_path, "SELECT fingerprint, status FROM signals WHERE kind = 'alert'")
    assert [(x["fingerprint"], x["status"]) for x in rows] == [("84280e2050557c51", "firing")]
    assert daemon.journal.unhandled_alerts()[0].fingerprint == "84280e2050557c51"
    daemon.remediate()  # no runbook matches PodCpuHigh: handled, no incident
    assert daemon.journal.unhandled_alerts() == []
    assert query(tmp_path, "SELECT id FROM incidents") == []
