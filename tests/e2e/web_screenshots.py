"""Regenerate the screenshots in docs/web.md: `python -m tests.e2e.web_screenshots docs/img`.

Runs `aiops run` on the embedded default at 60x (as `make run` does) until the four
sandbox faults have been healed (about two real minutes), then captures the page in
headless Chromium: the whole page, one incident card, the forecast panel, the status
panel.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from aiops.bench.realservers import free_port
from tests.e2e.sandbox_config import sandbox_config
from tests.realservers.chromium import Chromium

OPEN = {"queued", "running", "awaiting-approval", "needs-attention"}
RUNBOOKS = {"cart-memory-leak", "checkout-bad-rollout", "frontend-traffic-surge",
            "payments-crash-loop"}


def main(out: Path, timeout: float = 240.0) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        cfg = sandbox_config(Path(tmp), forecast=True, http=True, port=port)
        proc = subprocess.Popen([sys.executable, "-m", "aiops", "run", "-c", str(cfg)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    rows = httpx.get(f"{url}/v1/incidents").json()["incidents"]
                except httpx.HTTPError:
                    rows = []
                closed = {i["runbook"] for i in rows if i["status"] not in OPEN}
                if closed >= RUNBOOKS:
                    break
                time.sleep(1.0)
            else:
                print("not every fault healed in time:", [(i["runbook"], i["status"])
                                                          for i in rows], file=sys.stderr)
            time.sleep(5.0)  # a little history after the last heal
            with Chromium(Path(tmp) / "browser", width=1440, height=1100) as b:
                b.navigate(f"{url}/")
                b.wait_for("document.body.dataset.refreshed", timeout=30)
                b.screenshot(out / "web-page.png", full_page=False)
                b.screenshot_of("article.incident[data-runbook='cart-memory-leak']",
                                out / "web-incident.png")
                b.screenshot_of("#forecasts-panel", out / "web-forecast.png")
                b.screenshot_of("aside", out / "web-status.png")
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/img"))
