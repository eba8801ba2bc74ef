"""The demo's generated configs: one clock for every party, valid for the real tools."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from aiops.config import load_config, parse_duration
from aiops.demo.configs import alert_rules, daemon_config, prom_duration
from tests.paths import ROOT


def test_durations_are_simulated_seconds_divided_by_the_speed() -> None:
    """At 60x two simulated minutes are two wall seconds; at 1x they stay two minutes."""
    assert prom_duration(120, 60.0) == "2000ms"
    assert prom_duration(120, 1.0) == "120000ms"
    assert prom_duration(15, 600.0) == "25ms"
    assert prom_duration(0.0001, 1000.0) == "1ms"  # never zero


def test_alert_rules_pass_promtool_at_any_speed(tmp_path: Path) -> None:
    """Debian's promtool accepts the generated rules; each `for:` is the scaled one."""
    for speed in (1.0, 60.0, 600.0):
        path = tmp_path / f"rules-{speed:g}.yaml"
        groups = alert_rules(speed)
        path.write_text(yaml.safe_dump({"groups": groups}))
        done = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True,
                              text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        holds = [parse_duration(r["for"].removesuffix("ms")) / 1000 for r in groups[0]["rules"]]
        assert [round(h * speed) for h in holds] == [60, 120, 60]


def test_daemon_config_is_the_default_on_prometheus_and_the_world(tmp_path: Path) -> None:
    """The embedded default with source and actuator swapped, paths absolute, it loads."""
    base = yaml.safe_load((ROOT / "config" / "aiops.yaml").read_text())
    data = daemon_config(base, base_dir=ROOT / "config", state_dir=tmp_path / "state",
                         prometheus_url="http://127.0.0.1:1", world_url="http://127.0.0.1:2",
                         port=3, extra_runbooks=[ROOT / "runbooks" / "demo"])
    path = tmp_path / "aiops.yaml"
    path.write_text(yaml.safe_dump(data))
    cfg = load_config(path)
    assert (cfg.source.type, cfg.source.prometheus.preset) == ("prometheus", "sandbox")
    assert (cfg.actuator.type, cfg.actuator.world.url) == ("world", "http://127.0.0.1:2")
    assert cfg.loop.speed == base["loop"]["speed"] and cfg.loop.backfill == 0
    assert not cfg.forecast.enabled
    assert cfg.runbooks.paths == [str(ROOT / "runbooks" / "sandbox"),
                                  str(ROOT / "runbooks" / "demo")]
    assert cfg.source.sandbox == load_config(ROOT / "config" / "aiops.yaml").source.sandbox
    assert base["source"]["type"] == "sandbox"  # the default itself is untouched
