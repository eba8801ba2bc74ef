"""`aiops run` starts with a banner (faults in real seconds, URL, what to watch), and
start-up errors are one line with the fix."""

from __future__ import annotations

import doctest
import os
import re
import signal
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import aiops.cli.banner
import aiops.cli.clocks
from aiops.cli.banner import FaultInfo, banner
from tests.e2e.sandbox_config import sandbox_config

FAULTS = [
    FaultInfo(name="leak", workload="cart", start=1500.0),
    FaultInfo(name="surge", workload="frontend", start=600.0, end=3000.0),
    FaultInfo(name="rollout", workload="checkout", start=300.0, healed_at=420.0),
]


def test_module_examples() -> None:
    """The docstring examples of the banner and clock modules hold."""
    for module in (aiops.cli.banner, aiops.cli.clocks):
        assert doctest.testmod(module).failed == 0


def _lines(**overrides: object) -> list[str]:
    args: dict[str, object] = dict(version="0.1.0", source="sandbox", actuator="sandbox",
                                   runbooks=5, config="c.yaml", now=900.0, speed=60.0,
                                   clock="sim", url="http://127.0.0.1:9464", faults=FAULTS)
    args.update(overrides)
    return banner(**args)  # type: ignore[arg-type]


def test_faults_show_sim_start_and_real_wait() -> None:
    """A future fault's wait is (start - now) / speed in wall seconds; others say their state."""
    lines = _lines()
    leak = next(line for line in lines if "leak" in line)
    assert "at 1970-01-01 00:25:00 UTC (sim)" in leak and leak.endswith("in 10s (wall)")
    assert next(line for line in lines if "surge" in line).endswith("under way")
    assert "healed at 1970-01-01 00:07:00 UTC (sim)" in next(
        line for line in lines if "rollout" in line)


def test_every_time_names_its_clock() -> None:
    """Each timestamp in the banner is followed by (sim) or (wall)."""
    text = "\n".join(_lines())
    stamps = re.findall(r"\d\d:\d\d:\d\d UTC (\(\w+\))?", text)
    assert stamps and all(s in ("(sim)", "(wall)") for s in stamps)
    assert "log lines below carry wall-clock times" in text


def test_url_stepped_and_real_time_variants() -> None:
    """The URL names the API and metrics; stepped and real-time clocks are described."""
    text = "\n".join(_lines())
    assert "page/API: http://127.0.0.1:9464/" in text and "/v1/incidents" in text
    stepped = "\n".join(_lines(speed=None, url=None))
    assert "stepped: as fast as the machine goes" in stepped and "page/API" not in stepped
    assert "as soon as the stepped clock gets there" in stepped
    wall = "\n".join(_lines(speed=1.0, clock="wall", faults=[], source="prometheus"))
    assert "clock: wall, real time" in wall and "faults" not in wall


def _env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "COLUMNS": "200"}


def test_run_prints_the_banner_before_the_loops(tmp_path: Path) -> None:
    """The real daemon's banner lists the four faults with waits that match its clock."""
    cfg = sandbox_config(tmp_path, http=True, port=0)
    proc = subprocess.Popen([sys.executable, "-m", "aiops", "run", "-c", str(cfg)],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            env=_env())
    lines: list[str] = []
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line.rstrip("\n"))
            if line.startswith("log lines below"):
                break
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    text = "\n".join(lines)
    now = datetime.strptime(re.search(r"now (\S+ \S+) UTC \(sim\)", text)[1],  # type: ignore[index]
                            "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp()
    faults = re.findall(r"^  (\S+) +\S+ +at (\S+ \S+) UTC \(sim\)  in (\S+) \(wall\)$", text,
                        flags=re.M)
    assert [f[0] for f in faults] == ["cart-memory-leak", "checkout-bad-rollout",
                                      "frontend-traffic-surge", "payments-crash-loop"]
    for _, start, wait in faults:
        at = datetime.strptime(start, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp()
        minutes, _, seconds = wait.rstrip("s").rpartition("m")
        real = int(minutes or 0) * 60 + int(seconds or 0)
        assert abs(real - (at - now) / 60) <= 1
    assert re.search(r"page/API: http://127\.0\.0\.1:\d+/", text)
    assert f"incidents -c {cfg}" in text


def test_port_in_use_is_one_line_with_the_fix(tmp_path: Path) -> None:
    """A taken HTTP port ends `aiops run` with exit 2 and one line naming --port."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cfg = sandbox_config(tmp_path, http=True, port=port)
        run = subprocess.run([sys.executable, "-m", "aiops", "run", "-c", str(cfg)],
                             capture_output=True, text=True, timeout=120, env=_env())
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    [line] = run.stderr.strip().splitlines()
    assert f"http port {port} on 127.0.0.1 is in use" in line and "--port" in line
