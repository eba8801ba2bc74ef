"""A sandbox day with a shadow detector candidate: compare lists its extra episodes, none of
them acted; operators' feedback changes the precision compare prints; a drift signal reaches
a runbook."""

from __future__ import annotations

import json
import math
import re
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import generate_latest
from typer.testing import CliRunner

from aiops.cli import _load_commands
from aiops.cli.app import app
from aiops.config import load_config
from aiops.daemon import Daemon, RunOptions
from tests.e2e.sandbox_config import query, sandbox_config

DAY = 86400.0
SLACK = 60.0


def cli(*args: str) -> tuple[int, str]:
    _load_commands()
    res = CliRunner().invoke(app, list(args))
    return res.exit_code, res.output


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The embedded sandbox for a simulated day with candidate ``lax`` (signal floor 0.6
    instead of 0.9), on a one-minute loop so the day runs in about a minute."""
    tmp = tmp_path_factory.mktemp("shadow-day")
    path = sandbox_config(tmp)
    data = yaml.safe_load(path.read_text())
    data["detect"] = {"candidates": [{"name": "lax", "set": {"signal_floor": 0.6}}]}
    data["loop"]["interval"] = "60s"
    path.write_text(yaml.safe_dump(data))
    daemon = Daemon(load_config(path), RunOptions(stepped=True, http=False))
    daemon.run_stepped(DAY)
    (tmp / "metrics.txt").write_bytes(generate_latest(daemon.metrics.registry))
    return path


def compare_json(config: Path) -> dict[str, Any]:
    code, out = cli("models", "compare", "-c", str(config), "--json")
    assert code == 0, out
    [c] = json.loads(out)
    assert c["candidate"]["model"] == "lax"
    return c  # type: ignore[no-any-return]


def covered(series: str, t: float, episodes: list[dict[str, Any]]) -> bool:
    return any(e["series"] == series and e["start"] - SLACK <= t <= e["end"] + SLACK
               for e in episodes)


def test_compare_lists_the_candidates_extra_episodes_and_none_acted(day: Path) -> None:
    """The lax candidate raises episodes live does not; no incident and no action came from
    any of them (every incident is a live episode's), and no shadow event names an incident."""
    c = compare_json(day)
    extra = c["only_candidate"]
    assert extra, "a lower floor should raise episodes live does not"
    assert c["candidate"]["episodes"] > c["live"]["episodes"] > 0
    assert c["candidate"]["cycles"] == c["live"]["cycles"] == DAY / 60
    live_eps = [json.loads(r["detail"]) for r in query(
        day.parent, "SELECT detail FROM events WHERE kind = 'shadow' AND code = 'shadow-episode'")]
    live_eps = [e for e in live_eps if e["model"] == "live"]
    incidents = query(day.parent, "SELECT id, opened_at, labels FROM incidents"
                      " WHERE signal_key LIKE 'anomaly:%'")
    assert incidents
    for inc in incidents:
        labels = json.loads(inc["labels"])
        rest = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "metric")
        # When the daemon opened it (its signal's `since` is the run's start, which can
        # precede the sample that crossed the floor and opened live's episode).
        series, t = f"{labels['metric']}{{{rest}}}", float(inc["opened_at"])
        assert covered(series, t, live_eps), f"{inc['id']} is not from a live episode"
        assert not covered(series, t, extra), f"{inc['id']} came from a candidate's episode"
    acted = {r["incident"] for r in query(day.parent, "SELECT incident FROM actions")}
    assert acted <= {r["id"] for r in query(day.parent, "SELECT id FROM incidents")}
    assert query(day.parent, "SELECT COUNT(*) AS n FROM events WHERE kind = 'shadow'"
                 " AND incident IS NOT NULL")[0]["n"] == 0
    code, out = cli("models", "compare", "-c", str(day))
    assert code == 0 and "only lax (never acted on)" in out


def test_feedback_on_an_incident_changes_the_precision_compare_prints(day: Path) -> None:
    """No verdict: precision unknown; one false positive: 0.00 of 1; a true positive on
    another incident: 0.50 of 2 (live), printed in the table too."""
    before = compare_json(day)
    assert before["live"]["judged"] == 0 and before["live"]["precision"] is None
    first, second = (r["id"] for r in query(
        day.parent, "SELECT id FROM incidents WHERE signal_key LIKE 'anomaly:%'"
        " ORDER BY opened_at LIMIT 2"))
    code, out = cli("feedback", first, "--false-positive", "--note", "drill", "-c", str(day),
                    "--by", "dana")
    assert code == 0 and "false-positive by dana" in out
    one = compare_json(day)
    assert (one["live"]["judged"], one["live"]["precision"]) == (1, 0.0)
    code, _ = cli("feedback", second, "--true-positive", "-c", str(day))
    assert code == 0
    two = compare_json(day)
    assert (two["live"]["judged"], two["live"]["precision"]) == (2, 0.5)
    assert two["candidate"]["judged"] == 2  # lax raised both as well
    _, table = cli("models", "compare", "-c", str(day))
    assert "0.50 (2)" in table


def test_live_quality_is_in_metrics_and_models_show(day: Path) -> None:
    """Per-series detector health is exported (bounded quantities) and shown with the live
    version, next to how many series were scored."""
    text = (day.parent / "metrics.txt").read_text()
    health = [line for line in text.splitlines() if line.startswith("aiops_detector_health{")]
    quantities = {line.split('quantity="')[1].split('"')[0] for line in health}
    assert quantities == {"warm", "episodes", "episodes_per_day", "adoptions", "drift_psi"}
    assert 'metric="latency_p99",namespace="shop",quantity="warm",workload="checkout"} 1.0' in text
    cfg = load_config(day)
    from aiops.models import runtime
    from aiops.models.versions import ModelKind

    live = runtime.registry_at(cfg.resolve(cfg.state_dir)).live(ModelKind.DETECTOR)
    assert live is not None
    code, out = cli("models", "show", live.id, "-c", str(day))
    assert code == 0 and "live quality at" in out and "detector health" in out
    series = len({re.sub(r'quantity="[^"]*",?', "", line.split("}")[0]) for line in health})
    assert f"{series} series, {series} warm" in out


DRIFT_RUNBOOK = """\
apiVersion: aiops/v1
kind: Runbook
metadata: {name: notify-on-drift}
spec:
  mode: dry-run
  triggers:
    - model_drift: {metric: request_rate}
  target:
    kind: SandboxWorkload
    namespace: '{{ labels.namespace }}'
    name: '{{ labels.workload }}'
  steps:
    - action: notify
      with: {url: "http://127.0.0.1:9/drift", body: {text: "{{ why }}"}}
"""


def test_a_lasting_shift_is_a_model_drift_signal_a_runbook_acts_on(tmp_path: Path) -> None:
    """Replayed: request_rate of shop/web doubles for good 90 minutes in; a model_drift
    runbook opens an incident on it (dry-run), and the steady latency never drifts."""
    now = time.time()
    start = now - now % 15 - 3600
    rows = ["timestamp,metric,namespace,workload,value"]
    for i in range(int(4 * 3600 / 15)):
        t = start + 15 * i
        wiggle = math.sin(i / 5.0) + 0.5 * math.cos(i / 3.0)
        rate = (200.0 if t >= now + 5400 else 100.0) + 5 * wiggle
        rows += [f"{t},request_rate,shop,web,{rate:.3f}",
                 f"{t},latency_p99,shop,web,{0.2 + 0.01 * wiggle:.4f}"]
    (tmp_path / "history.csv").write_text("\n".join(rows) + "\n")
    books = tmp_path / "runbooks"
    books.mkdir()
    (books / "drift.yaml").write_text(DRIFT_RUNBOOK)
    cfg = tmp_path / "aiops.yaml"
    cfg.write_text(yaml.safe_dump({
        "state_dir": str(tmp_path / "state"),
        "source": {"type": "replay", "replay": {"path": str(tmp_path / "history.csv")}},
        "actuator": {"type": "sandbox"}, "loop": {"interval": "15s"},
        "runbooks": {"paths": [str(books)]}, "http": {"enabled": False},
        "models": {"drift": {"reference": "1h", "window": "1h", "bins": 5}},
    }))
    Daemon(load_config(cfg), RunOptions(stepped=True, http=False)).run_stepped(2.5 * 3600)
    drifts = query(tmp_path, "SELECT dedup_key, t FROM signals WHERE kind = 'model-drift'")
    assert [r["dedup_key"].split(":")[1] for r in drifts] == [
        'request_rate{namespace="shop",workload="web"}']
    assert drifts[0]["t"] > now + 5400
    [inc] = query(tmp_path, "SELECT * FROM incidents")
    assert inc["runbook"] == "notify-on-drift" and inc["mode"] == "dry-run"
    assert inc["signal_key"].startswith("model-drift:request_rate")
