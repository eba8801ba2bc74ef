"""The web page in a real headless Chromium, loaded from a running daemon on the sandbox."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from aiops.bench.realservers import free_port
from aiops.config import load_config
from aiops.daemon import Daemon, RunOptions
from tests.e2e.sandbox_config import RUNBOOKS, sandbox_config
from tests.realservers.chromium import Chromium

BUDGET = 60.0  # seconds from the daemon's start to the first incident on the page
FIRST_CARD = "document.querySelector('article.incident[data-incident-id]') !== null"


def wait_http(url: str, deadline: float, proc: subprocess.Popen[bytes]) -> None:
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the daemon exited"
        try:
            if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} never answered /healthz")


def rendered_cards(b: Chromium) -> list[dict[str, Any]]:
    return list(b.evaluate("""Array.from(document.querySelectorAll('article.incident')).map(a => ({
        id: a.dataset.incidentId, status: a.dataset.status, runbook: a.dataset.runbook,
        target: a.querySelector('.target').textContent,
        series: Array.from(a.querySelectorAll('svg.chart')).map(s => ({
            key: s.dataset.seriesKey, role: s.dataset.role,
            points: Number(s.querySelector('path.value').dataset.points),
            band: s.querySelector('path.band').getAttribute('d').length,
            marks: Array.from(s.querySelectorAll('[data-mark-kind]'))
                .map(m => m.dataset.markKind)})),
        events: Array.from(a.querySelectorAll('ol.timeline li')).map(l => l.dataset.code)}))"""))


def assert_clean(b: Chromium) -> None:
    """No uncaught exception, console error, or log error (a CSP violation or a failed load)."""
    errors = [e for e in b.log_entries if e.get("level") == "error"]
    assert (b.exceptions, b.console_errors, errors) == ([], [], [])


@pytest.fixture
def daemon_process(tmp_path: Path) -> Iterator[tuple[str, float, subprocess.Popen[bytes]]]:
    """`aiops run` on the embedded default (state in tmp_path), as `make run` starts it."""
    port = free_port()
    cfg = sandbox_config(tmp_path, forecast=True, http=True, port=port, speed=60.0)
    log = (tmp_path / "daemon.log").open("wb")
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "aiops", "run", "-c", str(cfg)],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        yield f"http://127.0.0.1:{port}", started, proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_a_fresh_daemon_shows_its_first_incident_in_chromium_within_a_minute(
    daemon_process: tuple[str, float, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    """Within 60 s of `aiops run` starting, the page in Chromium draws the first incident."""
    url, started, proc = daemon_process
    deadline = started + BUDGET
    with Chromium(tmp_path / "browser") as b:
        wait_http(url, deadline, proc)
        b.navigate(f"{url}/")
        b.wait_for(FIRST_CARD, timeout=max(1.0, deadline - time.monotonic()))
        b.wait_for("document.body.dataset.refreshed", timeout=10)
        journal = httpx.get(f"{url}/v1/incidents").json()["incidents"]
        first = min(journal, key=lambda i: i["opened_at"])
        cards = {c["id"]: c for c in rendered_cards(b)}
        assert first["id"] in cards
        card = cards[first["id"]]
        assert (card["runbook"], card["target"]) == (first["runbook"], first["target"])
        # Its series (the signal's own, by its labels) with points and a band, the action marked.
        labels = {k: v for k, v in first["labels"].items() if k != "metric"}
        (trigger,) = [s for s in card["series"] if s["role"] == "trigger"]
        assert trigger["key"].startswith(first["labels"]["metric"] + "{")
        assert all(f'{k}="{v}"' in trigger["key"] for k, v in labels.items())
        assert trigger["points"] > 10 and trigger["band"] > 0
        if first["acted"]:
            assert "action" in trigger["marks"]
        assert card["events"][0] == "matched"
        # Readiness and models, and the predictive workload's forecast against capacity.
        b.wait_for("document.getElementById('ready').dataset.ready === 'true'", timeout=20)
        models = b.text("#models dt")
        assert [m.strip() for m in models] == ["detector", "forecaster"]
        b.wait_for("document.querySelector('figure.forecast path.capacity')"
                   "?.getAttribute('d').length > 0", timeout=20)
        assert "catalog" in b.text("figure.forecast svg .label")[0]
        b.screenshot(tmp_path / "page.png")
        assert_clean(b)


TOKENS = {"viewer": ("viewer-t0ken-123", ["read"]), "am": ("am-t0ken-456", ["alerts"])}
MARKUP = '<img src=x onerror="window.pwned=1">'
PROBE = f"""\
apiVersion: aiops/v1
kind: Runbook
metadata: {{name: markup-probe}}
spec:
  mode: dry-run
  triggers:
    - alert: {{alertname: '{MARKUP}', status: firing}}
  target: {{kind: SandboxWorkload, namespace: shop, name: cart}}
  steps:
    - action: restart
"""


@pytest.fixture
def secured_daemon(tmp_path: Path) -> Iterator[Daemon]:
    """A stepped sandbox daemon with tokens (viewer: read, am: alerts) and one incident."""
    books = tmp_path / "runbooks"
    books.mkdir()
    for src in RUNBOOKS.glob("*.yaml"):
        (books / src.name).write_text(src.read_text())
    (books / "markup-probe.yaml").write_text(PROBE)
    tokens = []
    for name, (token, roles) in TOKENS.items():
        (tmp_path / f"{name}.token").write_text(token)
        tokens.append({"name": name, "token_file": f"{name}.token", "roles": roles})
    cfg = sandbox_config(tmp_path, runbooks=books)
    data = yaml.safe_load(cfg.read_text())
    data["http"] = {"port": 0, "tokens": tokens}
    cfg.write_text(yaml.safe_dump(data))
    d = Daemon(load_config(cfg), RunOptions(stepped=True))
    d.start_http()
    try:
        yield d
    finally:
        d.close()


def test_with_tokens_the_browser_answers_the_challenge_and_markup_stays_text(
    secured_daemon: Daemon, tmp_path: Path
) -> None:
    """The browser is challenged, answers with a read token, and shows the incidents; an
    alert whose name is markup is shown as text, never run; a token without `read` sees none."""
    d = secured_daemon
    assert d.http is not None
    url = f"http://127.0.0.1:{d.http.port}"
    alert = {"version": "4", "status": "firing", "receiver": "aiops", "groupKey": "g",
             "alerts": [{"status": "firing", "labels": {"alertname": MARKUP},
                         "annotations": {}, "startsAt": "2026-01-01T00:00:00Z",
                         "fingerprint": "f00d"}]}
    r = httpx.post(f"{url}/v1/alerts", json=alert,
                   headers={"Authorization": f"Bearer {TOKENS['am'][0]}"})
    assert r.status_code == 200, r.text
    for _ in range(6):
        d.cycle()
        d.clock.advance(d.config.loop.interval)
    with Chromium(tmp_path / "viewer", credentials=("viewer", TOKENS["viewer"][0])) as b:
        b.navigate(f"{url}/")
        b.wait_for(FIRST_CARD, timeout=30)
        assert b.auth_challenges >= 1
        cards = rendered_cards(b)
        assert [c["runbook"] for c in cards] == ["markup-probe"]
        assert b.wait_for("document.body.textContent.includes('matched alert trigger: "
                          "<img src=x')", timeout=10)
        assert b.evaluate("window.pwned === undefined && !document.querySelector('img')")
        assert_clean(b)
    with Chromium(tmp_path / "am", credentials=("am", TOKENS["am"][0])) as b:
        b.navigate(f"{url}/")
        assert b.wait_for("document.body.textContent", timeout=10).find("lacks the role read") >= 0
        assert b.evaluate("document.querySelector('article.incident') === null")
