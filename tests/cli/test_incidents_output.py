"""`aiops incidents -o table|wide|json|yaml`, its filters, and its fit to the terminal."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from tests.e2e.sandbox_config import sandbox_config


def aiops(*args: str, columns: int | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin"}
    if columns is not None:
        env["COLUMNS"] = str(columns)
    return subprocess.run(
        [sys.executable, "-m", "aiops", *args], capture_output=True, text=True, timeout=300,
        check=False, env=env,
    )


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A sandbox journal with the four healed faults of the first three simulated hours."""
    cfg = str(sandbox_config(tmp_path_factory.mktemp("incidents")))
    run = aiops("run", "--config", cfg, "--speed", "max", "--for", "3h")
    assert run.returncode == 0, run.stderr
    return cfg


def test_json_and_yaml_carry_the_same_incidents(config: str) -> None:
    """-o json and -o yaml print the same documents, timelines included."""
    as_json = json.loads(aiops("incidents", "-c", config, "-o", "json").stdout)
    as_yaml = yaml.safe_load(aiops("incidents", "-c", config, "-o", "yaml").stdout)
    assert as_json == as_yaml
    assert {i["runbook"] for i in as_json} >= {"cart-memory-leak", "checkout-bad-rollout"}
    assert all(i["timeline"] for i in as_json)
    legacy = json.loads(aiops("incidents", "-c", config, "--json").stdout)
    assert legacy == as_json


def test_filters_by_status_and_runbook(config: str) -> None:
    """--runbook keeps that runbook's incidents; --status open keeps none after they closed."""
    only = json.loads(aiops("incidents", "-c", config, "-o", "json",
                            "--runbook", "cart-memory-leak").stdout)
    assert [i["runbook"] for i in only] == ["cart-memory-leak"]
    both = json.loads(aiops("incidents", "-c", config, "-o", "json", "--runbook",
                            "cart-memory-leak", "--runbook", "checkout-bad-rollout").stdout)
    assert sorted(i["runbook"] for i in both) == ["cart-memory-leak", "checkout-bad-rollout"]
    resolved = json.loads(aiops("incidents", "-c", config, "-o", "json",
                                "--status", "resolved").stdout)
    assert resolved and {i["status"] for i in resolved} == {"resolved"}
    assert json.loads(aiops("incidents", "-c", config, "-o", "json",
                            "--status", "open").stdout) == []


def test_unknown_filter_values_suggest_the_closest(config: str) -> None:
    """A misspelt status or runbook matches nothing and says which value was meant."""
    status = aiops("incidents", "-c", config, "--status", "resolvd")
    assert "did you mean 'resolved'?" in status.stderr
    book = aiops("incidents", "-c", config, "--runbook", "cart-memory-lek")
    assert "did you mean 'cart-memory-leak'?" in book.stderr
    assert status.returncode == book.returncode == 0


def test_table_fits_the_terminal_and_labels_the_clock(config: str) -> None:
    """At 72 columns no line is longer; ids stay whole; times say they are simulated."""
    out = aiops("incidents", "-c", config, "--no-timeline", columns=72).stdout
    lines = out.splitlines()
    assert lines and max(len(line) for line in lines) <= 72
    assert any(line.startswith("times: UTC on the sim clock") for line in lines)
    ids = {i["id"] for i in json.loads(aiops("incidents", "-c", config, "-o", "json").stdout)}
    assert {line.split()[0] for line in lines[1:] if line.startswith("inc-")} == ids


def test_wide_adds_mode_step_and_latest_reason(config: str) -> None:
    """-o wide shows the mode, the step/phase and the latest timeline reason per incident."""
    out = aiops("incidents", "-c", config, "-o", "wide", "--no-timeline").stdout
    header, *lines = out.splitlines()
    rows = [line for line in lines if line.startswith("inc-")]
    assert header.split()[-6:] == ["MODE", "STEP", "CLOSED", "(UTC,", "sim)", "LATEST"]
    assert rows and all(" auto " in r and "/closed" in r for r in rows)
    assert any("resolved" in r and "verified" in r for r in rows)
