"""The shipped alert rules against series scraped from a real daemon's /metrics (promtool)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import httpx
import yaml

from aiops.bench.chaos_launch import Launcher
from tests.faults.daemon import Daemon, firing_body, parse_metrics, replay_source, wait_until

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "aiops-alerts.yaml"
RUNBOOK = """apiVersion: aiops/v1
kind: Runbook
metadata: {name: first-failure}
spec:
  mode: auto
  triggers:
    - alert: {alertname: FirstFailure, status: firing}
  target: {kind: Deployment, namespace: '{{ labels.namespace }}',
           name: '{{ labels.deployment }}'}
  steps:
    - action: command
      with: {argv: ['false']}
"""
TARGET = {"job": "aiops", "instance": "a:9464"}


def _actions(daemon: Daemon) -> dict[tuple[tuple[str, str], ...], float]:
    """Every aiops_actions_total series the daemon exports, by label set."""
    text = httpx.get(f"{daemon.url}/metrics", timeout=5).text
    return {tuple(sorted(labels.items())): value for fam in parse_metrics(text)
            for name, labels, value in fam if name == "aiops_actions_total"}


def _series(labels: tuple[tuple[str, str], ...], values: str) -> dict[str, str]:
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted({**TARGET, **dict(labels)}.items()))
    return {"series": f"aiops_actions_total{{{inner}}}", "values": values}


def test_actions_failing_fires_on_a_runbooks_first_failed_action(
    tmp_path: Path, launcher: Launcher
) -> None:
    """A runbook's very first failed action, scraped from a real daemon (primed 0, then 1),
    fires AiopsActionsFailing; the same 1 without the primed 0 would not have."""
    (tmp_path / "rb").mkdir()
    (tmp_path / "rb" / "first.yaml").write_text(RUNBOOK)
    daemon = Daemon(tmp_path, {
        "source": replay_source(tmp_path), "actuator": {"type": "record"},
        "loop": {"interval": "1s", "backfill": "0s"},
        "runbooks": {"paths": [str(tmp_path / "rb")]},
    }, launcher=launcher).start()
    failed = (("action", "command"), ("outcome", "failed"), ("runbook", "first-failure"))
    before = _actions(daemon)
    assert before[failed] == 0.0, "the label set a rule reads must exist at 0 from the start"
    daemon.deliver(firing_body(alertname="FirstFailure", deployment="web"))
    wait_until("the action to fail", lambda: _actions(daemon).get(failed) == 1.0)
    after = _actions(daemon)
    assert daemon.stop() == 0

    def scraped(key: tuple[tuple[str, str], ...]) -> str:
        b, a = before.get(key), after[key]
        head = "_ _ _ _" if b is None else " ".join([f"{b:g}"] * 4)
        return f"{head} " + " ".join([f"{a:g}"] * 6)

    expected = [{"exp_labels": {"severity": "warning", "instance": "a:9464",
                                "runbook": "first-failure"},
                 "exp_annotations": {
                     "summary": "runbook first-failure had failed actions in the last 15m"}}]
    tests: list[dict[str, Any]] = [
        {"interval": "1m", "input_series": [_series(k, scraped(k)) for k in after],
         "alert_rule_test": [
             {"eval_time": "3m", "alertname": "AiopsActionsFailing", "exp_alerts": []},
             {"eval_time": "6m", "alertname": "AiopsActionsFailing", "exp_alerts": expected}]},
        # The same scrape as a counter created lazily would give it: absent, then at 1.
        {"interval": "1m", "input_series": [
            _series(k, "_ _ _ _ " + " ".join([f"{v:g}"] * 6)) for k, v in after.items()],
         "alert_rule_test": [
             {"eval_time": "6m", "alertname": "AiopsActionsFailing", "exp_alerts": []}]},
    ]
    spec = tmp_path / "first-failure.test.yaml"
    spec.write_text(yaml.safe_dump({"rule_files": [str(RULES)], "evaluation_interval": "1m",
                                    "tests": tests}, sort_keys=False))
    run = subprocess.run(["promtool", "test", "rules", str(spec)], capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
