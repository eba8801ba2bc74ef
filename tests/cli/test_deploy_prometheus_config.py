"""`aiops deploy prometheus-config`: a stanza Prometheus' own promtool accepts, one per pod."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

PROMTOOL = shutil.which("promtool")


def stanza(*args: str) -> tuple[str, dict]:
    out = subprocess.run([sys.executable, "-m", "aiops", "deploy", "prometheus-config", *args],
                         capture_output=True, text=True, check=True).stdout
    return out, yaml.safe_load(out)


def check(tmp_path: Path, doc: dict) -> None:
    """promtool check config on a whole prometheus.yml holding ``doc``."""
    if PROMTOOL is None:
        pytest.fail("promtool is missing: apt-get install prometheus (make debs)")
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(doc))
    proc = subprocess.run([PROMTOOL, "check", "config", str(path)], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_push_stanza_has_one_entry_per_pod_keeping_its_shard(tmp_path: Path) -> None:
    """N shards x the pair: each entry keeps the scored metrics and its own hashmod value."""
    text, doc = stanza("--shards", "3", "--credentials-file", "/etc/prom/aiops-token")
    entries = doc["remote_write"]
    assert len(entries) == 6 and "shard.count: 3" in text
    for k in range(3):
        pods = [e for e in entries if e["name"].startswith(f"aiops-shard-{k}-")]
        assert [e["url"] for e in pods] == [
            f"http://aiops-{m}-{k}.aiops-shards.aiops.svc:9464/api/v1/write" for m in "ab"]
        for e in pods:
            rules = e["write_relabel_configs"]
            assert rules[0]["regex"].startswith("aiops:cpu_usage")
            assert rules[1] == {"source_labels": ["namespace", "workload"], "modulus": 3,
                                "target_label": "__tmp_aiops_shard", "action": "hashmod"}
            assert rules[2]["regex"] == str(k) and rules[3]["action"] == "labeldrop"
            assert e["authorization"] == {"credentials_file": "/etc/prom/aiops-token"}
    check(tmp_path, {"remote_write": entries})


def test_one_shard_needs_no_hashmod_and_pull_mode_labels_series(tmp_path: Path) -> None:
    """--shards 1 keeps only the metric filter; --mode pull gives valid metric relabels."""
    _, one = stanza("--shards", "1", "--members", "a")
    [entry] = one["remote_write"]
    assert [r["action"] for r in entry["write_relabel_configs"]] == ["keep"]
    _, pull = stanza("--shards", "4", "--mode", "pull")
    rules = pull["metric_relabel_configs"]
    assert {"source_labels": ["namespace", "__tmp_aiops_workload"], "modulus": 4,
            "target_label": "aiops_shard", "action": "hashmod"} in rules
    check(tmp_path, {"scrape_configs": [{"job_name": "k", "static_configs": [
        {"targets": ["127.0.0.1:1"]}], "metric_relabel_configs": rules}]})
