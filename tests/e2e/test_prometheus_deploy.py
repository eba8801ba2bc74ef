"""deploy/: the daemon's alerting rules and the Grafana dashboard, checked with the real tools."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from aiops.telemetry.metrics import Metrics
from tests.realservers.plugin import PromStack

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "aiops-alerts.yaml"
DASHBOARD = ROOT / "deploy" / "grafana" / "aiops-dashboard.json"
NAME = re.compile(r"\baiops_[a-z_]+\b")


def _exported_names() -> set[str]:
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"),
                "gauge": ("",)}
    return {
        fam.name + suffix
        for fam in Metrics().registry.collect()
        for suffix in suffixes.get(fam.type, ("",))
    }


def _dashboard_exprs() -> list[str]:
    dash = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    exprs += [a["expr"] for a in dash["annotations"]["list"] if "expr" in a]
    return exprs


def test_rules_pass_promtool_check_and_unit_tests() -> None:
    """promtool accepts the rules and their unit tests (down, stalled, source failing...) pass."""
    check = subprocess.run(
        ["promtool", "check", "rules", str(RULES)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS: 9 rules found" in check.stdout
    unit = subprocess.run(["promtool", "test", "rules", "aiops-alerts.test.yaml"],
                          cwd=RULES.parent, capture_output=True, text=True)
    assert unit.returncode == 0, unit.stdout + unit.stderr


def test_rules_cover_down_slow_and_source_failing() -> None:
    """The rule set has the alerts the issues ask for (down, slow, source failing, and the
    incident lifecycle's: needs attention, crashing loops, journal write errors)."""
    names = {r["alert"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]}
    assert {"AiopsDown", "AiopsCycleTooSlow", "AiopsSourceFailing", "AiopsActionsFailing",
            "AiopsIncidentsNeedAttention", "AiopsCyclesCrashing",
            "AiopsJournalWriteErrors"} <= names


@pytest.mark.parametrize("where", ["rules", "dashboard"])
def test_every_referenced_metric_is_exported(where: str) -> None:
    """Rules and dashboard only use metric names aiops.telemetry.metrics really exports."""
    text = RULES.read_text() if where == "rules" else "\n".join(_dashboard_exprs())
    used = set(NAME.findall(text))
    assert used, "no aiops_ metric referenced"
    missing = used - _exported_names()
    assert not missing, f"{where} reference unknown metrics: {sorted(missing)}"


def test_dashboard_queries_are_valid_promql(prom_stack: PromStack) -> None:
    """Every dashboard query (template variables filled in) is accepted by the real Prometheus."""
    values = {"$metric": "latency_p99", "$namespace": ".*", "$workload": ".*"}
    bad: list[tuple[str, Any]] = []
    for expr in _dashboard_exprs():
        for var, value in values.items():
            expr = expr.replace(var, value)
        r = httpx.get(f"{prom_stack.url}/api/v1/query", params={"query": expr}, timeout=5)
        if r.status_code != 200:
            bad.append((expr, r.json().get("error")))
    assert not bad
    assert len(_dashboard_exprs()) >= 15
