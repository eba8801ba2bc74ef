"""The approvals endpoint over a real socket with the real remediator and journal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiops.actuators.record import RecordingActuator
from aiops.engines.remediate import Remediator
from aiops.http import approval_endpoints
from aiops.journal import Journal
from aiops.telemetry.logging import get_logger
from aiops.telemetry.metrics import Metrics
from tests.http.serving import TOKENS, bearer, principals, serve
from tests.runbook.factories import LADDER, anomaly, runbook

APPROVE = LADDER.replace("mode: auto", "mode: approve") + (
    "  approval: {approvers: [alice], timeout: 10m}\n")


@dataclass
class Approvals:
    url: str
    remediator: Remediator
    incident: str

    def status(self) -> str:
        inc = self.remediator.journal.incident(self.incident)
        assert inc is not None
        return inc.status


@pytest.fixture
def approvals(tmp_path: Path) -> Iterator[Approvals]:
    r = Remediator([runbook(APPROVE)], Journal(tmp_path / "j.sqlite"),
                   RecordingActuator(replicas=3), Metrics(), get_logger("test"))
    r.handle(anomaly("latency_p99", "checkout", t=0.0), 0.0)
    incident = r.journal.incidents()[0].id
    endpoints = approval_endpoints(approve=r.approve,
                                   exists=lambda i: r.journal.incident(i) is not None,
                                   clock=lambda: 5.0)
    with serve(endpoints, table=principals()) as server:
        yield Approvals(url=f"http://127.0.0.1:{server.port}/v1/approvals", remediator=r,
                        incident=incident)
    r.journal.close()


def test_the_approver_is_the_authenticated_principal(approvals: Approvals) -> None:
    """bob (not an approver) is 403 and journaled; alice's token approves as alice."""
    target = f"{approvals.url}/{approvals.incident}"
    refused = httpx.post(target, json={}, headers=bearer("bob"))
    assert refused.status_code == 403 and approvals.status() == "awaiting-approval"
    kinds = [e.kind for e in approvals.remediator.journal.timeline(approvals.incident)]
    assert "approval-denied" in kinds
    assert httpx.post(target, json={}, headers=bearer("am")).status_code == 403  # no role
    ok = httpx.post(target, json={"approver": "alice"}, headers=bearer("alice"))
    assert ok.status_code == 200 and ok.json()["approver"] == "alice"
    again = httpx.post(target, json={}, headers=bearer("alice"))
    assert again.status_code == 409


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
bodies = (
    st.binary(max_size=64)
    | json_values.map(lambda v: json.dumps(v).encode())
    | st.fixed_dictionaries({"approver": st.sampled_from(["alice", "bob", "", "root"])
                             | st.text(max_size=10) | st.integers()}).map(
        lambda v: json.dumps(v).encode())
)
idents = st.sampled_from(["REAL", "nope", "x" * 300]) | st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/?#"),
    min_size=1, max_size=20)
who = st.sampled_from([*TOKENS, None, "wrong"])
content_types = st.sampled_from(["application/json", "application/json", "text/plain", ""])


def test_fuzzed_approvals_never_5xx_and_bob_never_approves(approvals: Approvals) -> None:
    """Hypothesis: any body, id, token and content type gets a 4xx or 200; bob never wins."""
    client = httpx.Client(timeout=10)

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(body=bodies, ident=idents, principal=who, ctype=content_types)
    def check(body: bytes, ident: str, principal: str | None, ctype: str) -> None:
        ident = approvals.incident if ident == "REAL" else ident
        before = approvals.status()
        headers = {"Content-Type": ctype}
        if principal == "wrong":
            headers["Authorization"] = "Bearer wrong"
        elif principal is not None:
            headers |= bearer(principal)
        r = client.post(f"{approvals.url}/{quote(ident, safe='')}", content=body,
                        headers=headers)
        assert r.status_code < 500, r.text
        assert r.status_code in (200, 400, 401, 403, 404, 405, 409, 413, 415)
        if r.status_code == 200:
            assert principal == "alice" and r.json()["approver"] == "alice"
        if principal != "alice":
            assert approvals.status() == before

    try:
        check()
    finally:
        client.close()
