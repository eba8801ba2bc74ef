"""`aiops demo` headless: a fault seen through real Prometheus, healed, back to normal there."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.paths import ROOT

MIB = 1024 * 1024
NORMAL = 340 * MIB  # the cart runbook's verify threshold is 340 MiB; normal is ~310 MiB
CART = 'aiops_sandbox_memory_usage{workload="cart"}'


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[dict[str, Any], subprocess.Popen[bytes], Path]]:
    """`aiops demo` as `make demo` runs it, its files in tmp_path; stopped by SIGTERM."""
    workdir = tmp_path / "demo"
    log = (tmp_path / "demo.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "aiops", "demo", "--dir", str(workdir), "--for", "6h",
         "--config", str(ROOT / "config" / "aiops.yaml")],
        stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 90
        manifest = workdir / "demo.json"
        while not manifest.exists():
            assert proc.poll() is None, (tmp_path / "demo.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the demo did not come up in 90 s"
            time.sleep(0.2)
        yield json.loads(manifest.read_text()), proc, tmp_path / "demo.log"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
        log.close()


def poll(what: str, fn: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"{what} did not happen within {timeout}s")


def resolved_cart(daemon: str) -> dict[str, Any] | None:
    rows = httpx.get(f"{daemon}/v1/incidents", params={"status": "resolved"}).json()
    cart = [i for i in rows["incidents"] if i["runbook"] == "cart-memory-leak"]
    return httpx.get(f"{daemon}/v1/incidents/{cart[0]['id']}").json() if cart else None


def test_demo_detects_through_prometheus_heals_and_prometheus_shows_the_heal(
    demo: tuple[dict[str, Any], subprocess.Popen[bytes], Path],
) -> None:
    """The cart leak is seen via PromQL, restarted through the world, and Prometheus shows
    memory back under 340 MiB; the daemon, the world and Prometheus agree on time."""
    manifest, proc, log = demo
    urls, speed = manifest["urls"], manifest["speed"]
    prom, daemon, world = urls["prometheus"], urls["daemon"], urls["world"]

    # One clock: the daemon's `now` is the world's (both simulated, same speed).
    status = httpx.get(f"{daemon}/v1/status").json()
    clock = httpx.get(f"{world}/v1/clock").json()
    assert status["clock"] == {"name": "sim", "speed": speed, "stepped": False}
    assert abs(status["now"] - clock["now"]) < 2.0 * speed  # two wall seconds at most
    assert status["source"] == "prometheus" and status["actuator"] == "world"

    incident = poll("a resolved cart incident", lambda: resolved_cart(daemon), timeout=150)
    (action,) = incident["actions"]
    assert (action["kind"], action["status"]) == ("restart", "done")
    assert incident["close_code"] == "verified"

    # The world Prometheus scrapes is the world the daemon acted on: the leak is healed
    # by the daemon's action id.
    faults = httpx.get(f"{world}/v1/faults").json()["faults"]
    leak = next(f for f in faults if f["kind"] == "memory_leak")
    assert leak["healed_by"] == action["id"]

    # `for: 2m` means two simulated minutes: the incident opened 2-10 simulated minutes
    # after the episode began (two real minutes would be 120 simulated ones at 60x).
    series = httpx.get(f"{daemon}/v1/incidents/{incident['id']}/series").json()
    (trigger,) = [s for s in series["series"] if s["role"] == "trigger"]
    began = trigger["episodes"][0][0]
    assert 120.0 <= incident["opened_at"] - began <= 600.0

    # Prometheus saw the leak before the restart, and shows cart normal ever after it.
    acted = clock["wall"] + (action["started_at"] - clock["sim"]) / speed  # wall time
    peak = httpx.get(f"{prom}/api/v1/query", params={
        "query": f"max_over_time({CART}[{max(2, round(600 / speed))}s])",
        "time": f"{acted:.3f}"}).json()["data"]["result"]
    assert float(peak[0]["value"][1]) > NORMAL, "the leak never showed in Prometheus"

    def normal_since_heal() -> bool:
        ready = acted + 180 / speed  # new pods are ready 60-90 simulated seconds after
        if time.time() < ready + 3:
            return False
        rows = httpx.get(f"{prom}/api/v1/query_range", params={
            "query": CART, "start": f"{ready:.3f}", "end": f"{time.time():.3f}",
            "step": "0.25"}).json()["data"]["result"]
        return bool(rows) and all(float(v) < NORMAL for _, v in rows[0]["values"])

    poll("cart memory normal in Prometheus since the heal", normal_since_heal, timeout=30)

    # Alertmanager delivered the demo rules' alerts to the daemon's webhook.
    def alerts_received() -> float:
        for line in httpx.get(f"{daemon}/metrics").text.splitlines():
            if line.startswith('aiops_webhook_alerts_total{result="new"}'):
                return float(line.split()[-1])
        return 0.0

    poll("an alert through Alertmanager", alerts_received, timeout=90)

    # Ctrl-C (SIGTERM) stops every process the demo started.
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0, log.read_text()[-3000:]
    for pid in manifest["pids"].values():
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
