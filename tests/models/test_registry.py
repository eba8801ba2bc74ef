"""The model registry: versions, npz-only state, promote and rollback with who and why."""

from __future__ import annotations

import io
import math
import pickle
from pathlib import Path

import numpy as np
import pytest

from aiops.config.detect import DetectConfig
from aiops.config.forecast import ForecastConfig
from aiops.detect.bank import DetectorBank
from aiops.forecast.workloads import DemandSample, WorkloadForecasts
from aiops.model import Sample, SeriesKey
from aiops.models.events import JsonlEventLog, ModelAction
from aiops.models.registry import ModelRegistry, RegistryError
from aiops.models.versions import ModelKind, code_version, version_id

KEY = SeriesKey.of("request_rate", workload="checkout")


def detector_state(config: DetectConfig, n: int, seed: int) -> bytes:
    """A bank that has learnt ``n`` points of two series, snapshotted."""
    bank = DetectorBank(config)
    rng = np.random.default_rng(seed)
    keys = [SeriesKey.of("cpu", pod=p) for p in ("a", "b")]
    for i in range(n):
        bank.update([Sample(key=k, t=60.0 * i, value=float(50 + rng.normal())) for k in keys])
    return bank.snapshot()


def forecaster_state(config: ForecastConfig, n: int) -> bytes:
    wf = WorkloadForecasts(config)
    for i in range(n):
        d = 400.0 + 300.0 * math.sin(2 * math.pi * i / 24)
        wf.update([DemandSample(key=KEY, demand=d, current_replicas=6, ready_replicas=6)],
                  now=3600.0 * i)
    return wf.snapshot()


def test_register_is_idempotent_and_ids_follow_config_and_code(tmp_path: Path) -> None:
    """The same configuration under the same code is one version; a change is another."""
    reg = ModelRegistry(tmp_path)
    code = code_version(ModelKind.DETECTOR)
    a = reg.register(ModelKind.DETECTOR, {"warmup": 10}, code=code, now=1.0)
    again = reg.register(ModelKind.DETECTOR, {"warmup": 10}, code=code, now=2.0)
    b = reg.register(ModelKind.DETECTOR, {"warmup": 11}, code=code, now=3.0, parent=a.id)
    other_code = version_id(ModelKind.DETECTOR, {"warmup": 10}, code + "x")
    assert again == a and b.id != a.id and other_code != a.id
    assert [v.id for v in reg.versions()] == [a.id, b.id]
    assert reg.get(b.id[:14]).parent == a.id
    with pytest.raises(RegistryError, match="unknown"):
        reg.get("detector-nope")
    registered = [e for e in reg.history() if e.action is ModelAction.REGISTER]
    assert [e.version for e in registered] == [a.id, b.id]


def test_state_must_be_npz_without_pickle(tmp_path: Path) -> None:
    """Pickles and garbage are refused; npz state comes back byte for byte."""
    reg = ModelRegistry(tmp_path)
    v = reg.register(ModelKind.DETECTOR, {}, code="c", now=0.0)
    with pytest.raises(RegistryError, match="npz"):
        reg.checkpoint(v.id, pickle.dumps({"a": 1}), now=1.0)
    obj = np.array([{"x": 1}], dtype=object)
    buf = io.BytesIO()
    np.savez(buf, a=obj)
    with pytest.raises(RegistryError, match="npz"):
        reg.checkpoint(v.id, buf.getvalue(), now=1.0)
    blob = detector_state(DetectConfig(), 30, seed=1)
    stored = reg.checkpoint(v.id, blob, now=2.0, trained_on=(0.0, 2.0))
    assert reg.state(v.id) == blob and stored.state_bytes == len(blob)
    assert stored.trained_on == (0.0, 2.0)


def test_a_tampered_blob_is_detected(tmp_path: Path) -> None:
    """A state file that no longer matches its digest is an error, never loaded."""
    reg = ModelRegistry(tmp_path)
    v = reg.register(ModelKind.DETECTOR, {}, code="c", now=0.0)
    v = reg.checkpoint(v.id, detector_state(DetectConfig(), 20, seed=2), now=1.0)
    (tmp_path / "blobs" / f"{v.state_digest}.npz").write_bytes(b"x")
    with pytest.raises(RegistryError, match="digest"):
        reg.state(v.id)


@pytest.mark.parametrize("kind", list(ModelKind))
def test_promote_then_rollback_restores_the_earlier_state_bit_for_bit(
    tmp_path: Path, kind: ModelKind
) -> None:
    """Rollback makes the earlier version live with its exact state; the model loads it."""
    reg = ModelRegistry(tmp_path)
    if kind is ModelKind.DETECTOR:
        cfg_a, cfg_b = DetectConfig(), DetectConfig(warmup=DetectConfig().warmup + 5)
        blob_a, blob_b = detector_state(cfg_a, 80, seed=3), detector_state(cfg_b, 90, seed=4)
    else:
        base = {"model": "multi_seasonal", "interval": 3600.0, "capacity_per_replica": 100.0}
        cfg_a = ForecastConfig.model_validate(base)
        cfg_b = ForecastConfig.model_validate({**base, "quantile": 0.8})
        blob_a, blob_b = forecaster_state(cfg_a, 60), forecaster_state(cfg_b, 70)
    a = reg.register(kind, cfg_a.model_dump(mode="json"), code="c", now=1.0)
    reg.promote(a.id, by="ann", why="first", now=1.0)
    reg.checkpoint(a.id, blob_a, now=2.0)
    b = reg.register(kind, cfg_b.model_dump(mode="json"), code="c", now=3.0, parent=a.id)
    reg.checkpoint(b.id, blob_b, now=4.0)
    promoted = reg.promote(b.id, by="bob", why="candidate won", now=5.0)
    assert promoted.previous == a.id and reg.live(kind).id == b.id  # type: ignore[union-attr]
    event = reg.rollback(kind, by="carol", why="pages at night", now=6.0)
    assert (event.action, event.version, event.previous) == (ModelAction.ROLLBACK, a.id, b.id)
    assert (event.by, event.why) == ("carol", "pages at night")
    live = reg.live(kind)
    assert live is not None and live.id == a.id
    restored = reg.state(live.id)
    assert restored == blob_a
    model = DetectorBank(cfg_a) if kind is ModelKind.DETECTOR else WorkloadForecasts(cfg_a)  # type: ignore[arg-type]
    model.restore(restored)
    assert model.snapshot() == blob_a
    history = [(e.action, e.by) for e in reg.history(kind) if e.action is not ModelAction.REGISTER]
    assert history == [(ModelAction.PROMOTE, "ann"), (ModelAction.PROMOTE, "bob"),
                       (ModelAction.ROLLBACK, "carol")]


def test_rollback_needs_an_earlier_version(tmp_path: Path) -> None:
    """With nothing live before, or nothing live at all, rollback says so."""
    reg = ModelRegistry(tmp_path)
    with pytest.raises(RegistryError, match="no live"):
        reg.rollback(ModelKind.DETECTOR, by="x", why="y", now=0.0)
    v = reg.register(ModelKind.DETECTOR, {}, code="c", now=0.0)
    reg.promote(v.id, by="x", why="y", now=0.0)
    with pytest.raises(RegistryError, match="nothing was live"):
        reg.rollback(ModelKind.DETECTOR, by="x", why="y", now=1.0)
    with pytest.raises(RegistryError, match="already live"):
        reg.promote(v.id, by="x", why="again", now=2.0)


def test_a_torn_event_line_is_skipped(tmp_path: Path) -> None:
    """A crash mid-append leaves a partial line; the history before it still reads."""
    log = JsonlEventLog(tmp_path / "events.jsonl")
    reg = ModelRegistry(tmp_path, events=log)
    v = reg.register(ModelKind.DETECTOR, {}, code="c", now=0.0)
    reg.promote(v.id, by="x", why="y", now=1.0)
    with (tmp_path / "events.jsonl").open("a") as fh:
        fh.write('{"t": 2.0, "kind": "detec')
    assert [e.action for e in reg.history()] == [ModelAction.REGISTER, ModelAction.PROMOTE]
