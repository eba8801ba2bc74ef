"""The daemon's side of the registry: which version runs, and whose state it restores."""

from __future__ import annotations

from pathlib import Path

import yaml

from aiops.config import Config, load_config
from aiops.config.detect import DetectConfig
from aiops.detect.bank import DetectorBank
from aiops.model import Sample, SeriesKey
from aiops.models import runtime
from aiops.models.events import ModelAction
from aiops.models.versions import ModelKind

ROOT = Path(__file__).resolve().parents[2]


def config(tmp_path: Path, **detect: object) -> Config:
    data = yaml.safe_load((ROOT / "config" / "aiops.yaml").read_text())
    data["state_dir"] = str(tmp_path / "state")
    data["detect"] = {**data.get("detect", {}), **detect}
    path = tmp_path / "aiops.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_config(path)


def learn(cfg: DetectConfig, n: int) -> bytes:
    bank = DetectorBank(cfg)
    for i in range(n):
        bank.update([Sample(key=SeriesKey.of("cpu", pod="a"), t=60.0 * i, value=float(i % 7))])
    return bank.snapshot()


def snaps(state: Path) -> dict[ModelKind, Path]:
    return {ModelKind.DETECTOR: state / "detectors.bin",
            ModelKind.FORECASTER: state / "forecasts.bin"}


def test_first_start_registers_and_promotes_the_configured_versions(tmp_path: Path) -> None:
    """Both kinds get a live version at first start, promoted by aiops."""
    cfg = config(tmp_path)
    state = cfg.resolve(cfg.state_dir)
    res = runtime.prepare(cfg, state, now=1.0, snapshots=snaps(state))
    reg = runtime.registry_at(state)
    assert set(res.running) == {ModelKind.DETECTOR, ModelKind.FORECASTER}
    for kind, vid in res.running.items():
        assert reg.live(kind).id == vid  # type: ignore[union-attr]
    assert res.config == cfg and res.notes == ()
    again = runtime.prepare(cfg, state, now=2.0, snapshots=snaps(state))
    assert again.running == res.running
    promotions = [e for e in reg.history() if e.action is ModelAction.PROMOTE]
    assert len(promotions) == 2 and {e.by for e in promotions} == {"aiops"}


def test_a_changed_config_is_a_new_live_version_with_its_parent(tmp_path: Path) -> None:
    """Editing the detect section registers and promotes a child of the live version."""
    first = config(tmp_path)
    state = first.resolve(first.state_dir)
    old = runtime.prepare(first, state, now=1.0, snapshots=snaps(state)).running
    changed = config(tmp_path, warmup=first.detect.warmup + 7)
    new = runtime.prepare(changed, state, now=2.0, snapshots=snaps(state)).running
    reg = runtime.registry_at(state)
    det = reg.live(ModelKind.DETECTOR)
    assert det is not None and det.id == new[ModelKind.DETECTOR] != old[ModelKind.DETECTOR]
    assert det.parent == old[ModelKind.DETECTOR]
    assert new[ModelKind.FORECASTER] == old[ModelKind.FORECASTER]
    assert reg.history(ModelKind.DETECTOR)[-1].by == "config"


def test_after_a_rollback_the_daemon_runs_the_old_version_with_its_state(tmp_path: Path) -> None:
    """A rollback wins over the file: the old config runs and its exact state is restored."""
    first = config(tmp_path)
    state = first.resolve(first.state_dir)
    a = runtime.prepare(first, state, now=1.0, snapshots=snaps(state)).running
    blob_a = learn(first.detect, 50)
    assert runtime.checkpoint(first, state, {ModelKind.DETECTOR: blob_a}, now=2.0) == []
    changed = config(tmp_path, warmup=first.detect.warmup + 7)
    b = runtime.prepare(changed, state, now=3.0, snapshots=snaps(state)).running
    blob_b = learn(changed.detect, 60)
    (state / "detectors.bin").write_bytes(blob_b)
    runtime.checkpoint(changed, state, {ModelKind.DETECTOR: blob_b}, now=4.0)
    reg = runtime.registry_at(state)
    reg.rollback(ModelKind.DETECTOR, by="carol", why="too many pages", now=5.0)
    res = runtime.prepare(changed, state, now=6.0, snapshots=snaps(state))
    assert res.running[ModelKind.DETECTOR] == a[ModelKind.DETECTOR] != b[ModelKind.DETECTOR]
    assert res.config.detect == first.detect
    assert (state / "detectors.bin").read_bytes() == blob_a
    assert any("running live" in n for n in res.notes)
    bank = DetectorBank(res.config.detect)
    bank.restore((state / "detectors.bin").read_bytes())
    assert bank.snapshot() == blob_a
