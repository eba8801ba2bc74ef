"""``POST /v1/incidents/{id}/feedback`` over a real socket with the real journal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from aiops.engines.feedback import record_feedback
from aiops.http import feedback_endpoints
from aiops.journal import Journal
from aiops.models.feedback import Verdict
from tests.engines.test_feedback import incident
from tests.http.serving import bearer, principals, serve


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Journal, str]]:
    journal = Journal(tmp_path / "journal.sqlite")
    iid = incident(journal, "cart", 100.0)

    def record(i: str, verdict: str, by: str, note: str, now: float) -> dict[str, object]:
        return record_feedback(journal, i, Verdict(verdict), by=by, note=note, now=now).to_json()

    with serve(feedback_endpoints(record=record, clock=lambda: 500.0),
               table=principals()) as server:
        yield f"http://127.0.0.1:{server.port}/v1/incidents", journal, iid
    journal.close()


def feedback_events(journal: Journal, iid: str) -> list[dict[str, object]]:
    return [dict(e.detail) for e in journal.timeline(iid) if e.kind == "feedback"]


def test_the_person_recorded_is_the_authenticated_principal(
        site: tuple[str, Journal, str]) -> None:
    """alice's token records alice; naming someone else is 403 and records nothing."""
    url, journal, iid = site
    r = httpx.post(f"{url}/{iid}/feedback", json={"verdict": "false-positive", "note": "drill"},
                   headers=bearer("alice"))
    assert r.status_code == 200 and r.json()["by"] == "alice"
    as_bob = httpx.post(f"{url}/{iid}/feedback", json={"verdict": "true-positive", "by": "bob"},
                        headers=bearer("alice"))
    assert as_bob.status_code == 403
    events = feedback_events(journal, iid)
    assert [(e["by"], e["verdict"], e["note"]) for e in events] == [
        ("alice", "false-positive", "drill")]


def test_refusals_name_the_reason_and_record_nothing(site: tuple[str, Journal, str]) -> None:
    """No token 401, no approve role 403, a bad verdict or field 400, unknown incident 404."""
    url, journal, iid = site
    ok = {"verdict": "true-positive"}
    assert httpx.post(f"{url}/{iid}/feedback", json=ok).status_code == 401
    assert httpx.post(f"{url}/{iid}/feedback", json=ok,
                      headers=bearer("viewer")).status_code == 403
    bad = httpx.post(f"{url}/{iid}/feedback", json={"verdict": "maybe"}, headers=bearer("bob"))
    assert bad.status_code == 400 and bad.json()["field"] == "verdict"
    extra = httpx.post(f"{url}/{iid}/feedback", json={**ok, "score": 1}, headers=bearer("bob"))
    assert extra.status_code == 400 and extra.json()["field"] == "score"
    long_note = httpx.post(f"{url}/{iid}/feedback", json={**ok, "note": "x" * 501},
                           headers=bearer("bob"))
    assert long_note.status_code == 400
    missing = httpx.post(f"{url}/inc-nope/feedback", json=ok, headers=bearer("bob"))
    assert missing.status_code == 404
    assert feedback_events(journal, iid) == []
