"""The running daemon's HTTP API: approvals by principal drive `approve` mode; webhooks land."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from aiops.config import load_config
from aiops.daemon import Daemon, RunOptions
from tests.e2e.sandbox_config import RUNBOOKS, query

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures"
TOKEN = "s3cret-token"  # the alertmanager principal's
TOKENS = {"alertmanager": (TOKEN, ["alerts"]), "alice": ("alice-t0ken", ["approve", "read"]),
          "bob": ("bob-t0ken", ["approve"])}


def auth(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[name][0]}"}


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    books = tmp_path / "runbooks"
    books.mkdir()
    for src in RUNBOOKS.glob("*.yaml"):  # the sandbox runbooks, approvable by alice only
        docs = list(yaml.safe_load_all(src.read_text()))
        for doc in docs:
            doc["spec"]["approval"] = {"approvers": ["alice"]}
        (books / src.name).write_text(yaml.safe_dump_all(docs))
    tokens = []
    for name, (token, roles) in TOKENS.items():
        (tmp_path / f"{name}.token").write_text(token + "\n")
        tokens.append({"name": name, "token_file": f"{name}.token", "roles": roles})
    cfg = tmp_path / "aiops.yaml"
    cfg.write_text(yaml.safe_dump({
        "mode": "approve", "state_dir": str(tmp_path / "state"),
        "runbooks": {"paths": [str(books)]}, "http": {"port": 0, "tokens": tokens},
    }))
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
    """An incident in approve mode does nothing until its approver POSTs, then runs."""
    incident = run_until_awaiting(daemon, tmp_path)
    assert query(tmp_path, "SELECT id FROM actions") == []
    listed = httpx.get(url(daemon, "/v1/incidents?status=awaiting-approval"), headers=auth("alice"))
    assert [i["id"] for i in listed.json()["incidents"]] == [incident]

    target = url(daemon, f"/v1/approvals/{incident}")
    assert httpx.post(target, json={}).status_code == 401
    assert httpx.post(target, json={}, headers=auth("alertmanager")).status_code == 403
    bad = httpx.post(target, json=[], headers=auth("alice"))
    assert bad.status_code == 400 and "object" in bad.json()["error"]
    missing = httpx.post(url(daemon, "/v1/approvals/nope"), json={}, headers=auth("alice"))
    assert missing.status_code == 404
    ok = httpx.post(target, json={}, headers=auth("alice"))
    assert ok.status_code == 200, ok.text
    assert ok.json()["approver"] == "alice"

    daemon.cycle()
    actions = query(tmp_path, "SELECT incident, status FROM actions")
    assert [(a["incident"], a["status"]) for a in actions] == [(incident, "done")]
    again = httpx.post(target, json={}, headers=auth("alice"))
    assert again.status_code == 409 and "not awaiting approval" in again.json()["error"]


def test_approving_as_another_principal_is_refused_and_journaled(
    daemon: Daemon, tmp_path: Path
) -> None:
    """bob cannot approve alice's runbook (403, journaled), nor claim to be alice in the body."""
    incident = run_until_awaiting(daemon, tmp_path)
    target = url(daemon, f"/v1/approvals/{incident}")
    claim = httpx.post(target, json={"approver": "alice"}, headers=auth("bob"))
    assert claim.status_code == 403 and "another principal" in claim.json()["error"]
    refused = httpx.post(target, json={}, headers=auth("bob"))
    assert refused.status_code == 403 and "bob" in refused.json()["error"]
    events = query(tmp_path, "SELECT kind, reason FROM events WHERE incident = ?", incident)
    denied = [e["reason"] for e in events if e["kind"] == "approval-denied"]
    assert len(denied) == 1 and denied[0].startswith("bob is not an approver")
    status = query(tmp_path, "SELECT status, approver FROM incidents WHERE id = ?", incident)
    assert [(r["status"], r["approver"]) for r in status] == [("awaiting-approval", None)]
    assert query(tmp_path, "SELECT id FROM actions") == []


def test_webhook_alert_is_journaled_before_the_answer(daemon: Daemon, tmp_path: Path) -> None:
    """A captured Alertmanager body posted to the daemon is in the journal when 200 returns."""
    body = json.loads((FIXTURES / "alertmanager-v0.25-firing.json").read_text())
    assert httpx.post(url(daemon, "/v1/alerts"), json=body).status_code == 401
    assert httpx.post(url(daemon, "/v1/alerts"), json=body, headers=auth("alice")).status_code \
        == 403
    r = httpx.post(url(daemon, "/v1/alerts"), json=body, headers=auth("alertmanager"))
    assert r.status_code == 200, r.text
    rows = query(tmp_path, "SELECT fingerprint, status FROM signals WHERE kind = 'alert'")
    assert [(x["fingerprint"], x["status"]) for x in rows] == [("84280e2050557c51", "firing")]
    assert daemon.journal.unhandled_alerts()[0].fingerprint == "84280e2050557c51"
    daemon.remediate()  # no runbook matches PodCpuHigh: handled, no incident
    assert daemon.journal.unhandled_alerts() == []
    assert query(tmp_path, "SELECT id FROM incidents") == []
