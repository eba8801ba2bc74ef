"""``aiops models``: list, show, promote, rollback, bench and gate over a real state dir."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml
from typer.testing import CliRunner

from aiops.cli import _load_commands
from aiops.cli.app import app
from aiops.config import load_config
from aiops.models import runtime
from aiops.models.versions import ModelKind
from tests.paths import SHARED

ROOT = Path(__file__).resolve().parents[2]
TRACE = SHARED / "data" / "traces" / "nyc_taxi.csv"


def write_config(tmp_path: Path, name: str, **forecast: object) -> Path:
    data = yaml.safe_load((ROOT / "config" / "aiops.yaml").read_text())
    data["state_dir"] = str(tmp_path / "state")
    data["forecast"] = {**data["forecast"], **forecast}
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def cli(*args: str) -> tuple[int, str]:
    _load_commands()
    res = CliRunner().invoke(app, ["models", *args])
    return res.exit_code, res.output


def test_register_list_promote_rollback(tmp_path: Path) -> None:
    """Versions registered from two configs; promote and rollback record who and why."""
    live_cfg = write_config(tmp_path, "live.yaml")
    cand_cfg = write_config(tmp_path, "candidate.yaml", quantile=0.8)
    cfg = load_config(live_cfg)
    state = cfg.resolve(cfg.state_dir)
    runtime.prepare(cfg, state, now=1.0, snapshots={})
    code, out = cli("register", "-c", str(cand_cfg))
    assert code == 0, out
    cand = next(line.split(": ")[1] for line in out.splitlines() if line.startswith("forecaster"))
    code, out = cli("list", "-c", str(live_cfg), "--kind", "forecaster")
    assert code == 0 and cand in out and "yes" in out
    code, out = cli("promote", cand, "-c", str(live_cfg), "--by", "dana", "--why", "q=0.8 wins")
    assert code == 0 and "promote" in out and "by dana: q=0.8 wins" in out
    reg = runtime.registry_at(state)
    assert reg.live(ModelKind.FORECASTER).id == cand  # type: ignore[union-attr]
    code, out = cli("rollback", "forecaster", "-c", str(live_cfg), "--by", "eve",
                    "--why", "regressed")
    assert code == 0 and "rollback" in out
    assert reg.live(ModelKind.FORECASTER).id != cand  # type: ignore[union-attr]
    code, out = cli("show", cand, "-c", str(live_cfg))
    assert code == 0 and "by dana: q=0.8 wins" in out and "by eve: regressed" in out
    code, out = cli("promote", "forecaster-nope", "-c", str(live_cfg), "--why", "x")
    assert code == 2 and "unknown model version" in out


def test_bench_records_metrics_and_gate_compares_them(tmp_path: Path) -> None:
    """bench stores the autoscale figures; gate passes the same, fails worse, refuses none."""
    live_cfg = write_config(tmp_path, "live.yaml")
    cfg = load_config(live_cfg)
    state = cfg.resolve(cfg.state_dir)
    live = runtime.prepare(cfg, state, now=1.0, snapshots={}).running[ModelKind.FORECASTER]
    code, out = cli("bench", live, "-c", str(live_cfg), "--trace", str(TRACE),
                    "--limit", "1500")
    assert code == 0, out
    reg = runtime.registry_at(state)
    metrics = reg.get(live).metrics
    assert {"autoscale/nyc_taxi/under_vs_hpa", "autoscale/nyc_taxi/replica_hours_vs_hpa",
            "autoscale/nyc_taxi/mase"} <= set(metrics)
    _, out = cli("register", "-c", str(write_config(tmp_path, "c.yaml", quantile=0.8)))
    cand = next(line.split(": ")[1] for line in out.splitlines() if line.startswith("forecaster"))
    code, out = cli("gate", cand, "-c", str(live_cfg))
    assert code == 2 and "nothing-compared" in out
    reg.record_metrics(cand, dict(metrics))
    code, out = cli("gate", cand, "-c", str(live_cfg))
    assert code == 0 and "passed" in out
    worse = {**metrics, "autoscale/nyc_taxi/under_vs_hpa": metrics[
        "autoscale/nyc_taxi/under_vs_hpa"] + 0.2}
    reg.record_metrics(cand, worse)
    code, out = cli("gate", cand, "-c", str(live_cfg))
    assert code == 1 and "worse" in out


def test_bench_scores_a_detector_version_on_nab(tmp_path: Path) -> None:
    """A detector version is scored on a NAB corpus under names the gate compares."""
    nab = SHARED / "data" / "nab"
    name = "artificialWithAnomaly/art_daily_jumpsup.csv"
    corpus = tmp_path / "nab"
    (corpus / "data" / "artificialWithAnomaly").mkdir(parents=True)
    shutil.copy(nab / "data" / name, corpus / "data" / name)
    shutil.copy(nab / "profiles.json", corpus / "profiles.json")
    windows = json.loads((nab / "combined_windows.json").read_text())
    (corpus / "combined_windows.json").write_text(json.dumps({name: windows[name]}))
    cfg_path = write_config(tmp_path, "live.yaml")
    cfg = load_config(cfg_path)
    state = cfg.resolve(cfg.state_dir)
    det = runtime.prepare(cfg, state, now=1.0, snapshots={}).running[ModelKind.DETECTOR]
    code, out = cli("bench", det, "-c", str(cfg_path), "--nab", str(corpus))
    assert code == 0, out
    metrics = runtime.registry_at(state).get(det).metrics
    assert set(metrics) == {"nab/standard", "nab/reward_low_fp", "nab/reward_low_fn"}
    code, out = cli("gate", det, "-c", str(cfg_path), "--live", det)
    assert code == 0 and out.count("same") == 3
