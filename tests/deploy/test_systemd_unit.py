"""deploy/systemd/aiops.service: a hardened Type=notify unit consistent with the host config."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from aiops.config.settings import load_config

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "systemd" / "aiops.service"


def parse_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """systemd unit syntax: sections, repeated keys kept in order, comments and continuations."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    pending = ""
    for raw in text.splitlines():
        line = pending + raw.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1].rstrip() + " "
            continue
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"key outside a section: {line}"
        key, sep, value = line.partition("=")
        assert sep, f"not a key=value line: {line}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def _service() -> dict[str, list[str]]:
    return parse_unit(UNIT.read_text())["Service"]


def test_parser_handles_systemd_syntax() -> None:
    """The parser keeps repeated keys and empty assignments, skips comments."""
    parsed = parse_unit("[Service]\n# c\nA=1\nA=\nB=x \\\n  y\n")
    assert parsed == {"Service": {"A": ["1", ""], "B": ["x y"]}}


def test_unit_is_type_notify_with_watchdog() -> None:
    """Type=notify, a watchdog, restart on failure; the daemon must send READY/WATCHDOG."""
    svc = _service()
    assert svc["Type"] == ["notify"]
    assert svc["NotifyAccess"] == ["main"]
    assert svc["WatchdogSec"][0].endswith("s") and int(svc["WatchdogSec"][0][:-1]) >= 10
    assert svc["Restart"] == ["on-failure"]


def test_unit_is_hardened() -> None:
    """DynamicUser, strict read-only system, no capabilities, no new privileges, etc."""
    svc = _service()
    expected = {
        "DynamicUser": "yes",
        "ProtectSystem": "strict",
        "NoNewPrivileges": "yes",
        "CapabilityBoundingSet": "",
        "AmbientCapabilities": "",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes",
        "ProtectControlGroups": "yes",
        "RestrictSUIDSGID": "yes",
        "RestrictNamespaces": "yes",
        "LockPersonality": "yes",
        "SystemCallArchitectures": "native",
        "StateDirectory": "aiops",
        "UMask": "0077",
    }
    assert {k: svc.get(k, ["<unset>"])[-1] for k in expected} == expected
    assert svc["SystemCallFilter"][0] == "@system-service"
    assert set(svc["RestrictAddressFamilies"][0].split()) == {"AF_UNIX", "AF_INET", "AF_INET6"}


def test_unit_runs_the_host_config() -> None:
    """ExecStart runs `aiops run` on /etc/aiops/config.yaml; the shipped host config keeps its
    state in the unit's StateDirectory and listens on loopback."""
    argv = shlex.split(_service()["ExecStart"][0])
    assert argv[1:4] == ["run", "--config", "/etc/aiops/config.yaml"]
    cfg = load_config(ROOT / "config" / "systemd-host.yaml")
    assert cfg.state_dir == "/var/lib/" + _service()["StateDirectory"][0]
    assert cfg.http.listen == "127.0.0.1"
    assert cfg.actuator.type == "systemd" and cfg.actuator.systemd.allow_units


def test_unit_verifies_with_systemd_analyze(tmp_path: Path) -> None:
    """Where systemd-analyze exists, `verify` passes (ExecStart pointed at the installed
    console script) and the offline security exposure score stays below 2.0."""
    tool = shutil.which("systemd-analyze")
    if tool is None:  # no systemd tools here: the parsing tests above are the check
        assert parse_unit(UNIT.read_text())["Install"]["WantedBy"] == ["multi-user.target"]
        return
    aiops = Path(sys.executable).with_name("aiops")
    assert aiops.exists(), "aiops console script not installed in this environment"
    unit = tmp_path / "aiops.service"
    unit.write_text(UNIT.read_text().replace("/opt/aiops/bin/aiops", str(aiops)))
    verify = subprocess.run(
        [tool, "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )
    assert verify.returncode == 0, verify.stderr
    security = subprocess.run(
        [tool, "security", "--offline=yes", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    score = float(security.stdout.split("Overall exposure level for")[1].split(":")[1].split()[0])
    assert score < 2.0, security.stdout[-2000:]
