"""Regenerate docs/img/demo-prometheus.png: `python -m tests.demo.demo_screenshot docs/img`.

Runs `aiops demo` until the cart leak has been healed and cart's memory is back to
normal, then captures Prometheus' own graph of `aiops_sandbox_memory_usage` (served by
the Debian Prometheus on loopback) and the daemon's page in headless Chromium.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.realservers.chromium import Chromium


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "demo"
        proc = subprocess.Popen([sys.executable, "-m", "aiops", "demo", "--dir", str(work),
                                 "--for", "3h"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            while not (work / "demo.json").exists():
                time.sleep(0.5)
            urls = json.loads((work / "demo.json").read_text())["urls"]
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                rows = httpx.get(f"{urls['daemon']}/v1/incidents").json()["incidents"]
                if any(i["runbook"] == "checkout-bad-rollout" and i["status"] == "resolved"
                       for i in rows):
                    break
                time.sleep(1.0)
            time.sleep(8.0)
            with Chromium(Path(tmp) / "browser", width=1400, height=900) as b:
                b.navigate(f"{urls['prometheus']}/graph?g0.expr=aiops_sandbox_memory_usage"
                           "&g0.tab=0&g0.range_input=1m")
                b.wait_for("document.querySelectorAll('canvas, svg, .graph-chart').length > 0",
                           timeout=30)
                time.sleep(3.0)
                b.screenshot(out / "demo-prometheus.png", full_page=False)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/img"))
