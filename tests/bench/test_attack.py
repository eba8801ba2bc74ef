"""`aiops bench attack` parts against a real `aiops run` process: no 5xx, no crash, no leak."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from aiops.bench.attack import AttackReport, GiB, big_bodies, fuzz, planted_secret
from aiops.bench.attack_daemon import AttackDaemon, running


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AttackDaemon]:
    with running(tmp_path_factory.mktemp("attack")) as d:
        yield d


@pytest.mark.slow
def test_fuzzed_bodies_get_no_5xx_and_crash_no_cycle(daemon: AttackDaemon) -> None:
    """Hundreds of hostile bodies: every answer below 500, some accepted, no job crashed."""
    report = AttackReport()
    fuzz(daemon, report, bodies=400)
    assert report.inputs == 400 and report.errors == 0
    assert report.server_errors == 0, report.statuses
    assert report.statuses[200] > 0 and report.statuses[400] > 0 and report.statuses[403] > 0
    assert daemon.crashed_cycles() == 0


@pytest.mark.slow
def test_gigabyte_bodies_leave_the_daemons_rss_bounded(daemon: AttackDaemon) -> None:
    """A 1 GiB chunked body per POST route: cut off with 413, daemon RSS grows < 50 MB."""
    report = AttackReport()
    big_bodies(daemon, report, total=GiB)
    assert set(report.big_bodies) == {"alerts", "approvals"}
    for got in report.big_bodies.values():
        assert got["sent_mb"] < 256 and got["rss_growth_mb"] < 50, got


@pytest.mark.slow
def test_planted_secret_is_delivered_but_found_on_no_surface(daemon: AttackDaemon) -> None:
    """The notify header secret reaches the receiver; journal, logs, API, CLI never show it."""
    report = AttackReport()
    planted_secret(daemon, report)
    assert report.secret_delivered
    assert set(report.secrets_found) == {"state files (journal)", "daemon log", "/v1/incidents",
                                         "/metrics", "aiops incidents"}
    assert sum(report.secrets_found.values()) == 0, report.secrets_found
    # the search looks where the plan is: the reference (not the value) is on the API
    listed = httpx.get(f"{daemon.url}/v1/incidents?limit=1000", headers=daemon.auth("alice"))
    details = b"".join(httpx.get(f"{daemon.url}/v1/incidents/{i['id']}",
                                 headers=daemon.auth("alice")).content
                       for i in listed.json()["incidents"])
    assert b'"secret_file"' in details and b"ops-secret" in details
