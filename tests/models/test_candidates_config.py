"""Shadow candidates in the configuration: validated where written, outside the live identity."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from aiops.config import load_config
from aiops.errors import ConfigError, ConfigErrors
from aiops.forecast.workloads import WorkloadForecasts
from aiops.models import runtime
from aiops.models.versions import ModelKind

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, detect: dict[str, object] | None = None,
          forecast: dict[str, object] | None = None) -> Path:
    data = yaml.safe_load((ROOT / "config" / "aiops.yaml").read_text())
    data["state_dir"] = str(tmp_path / "state")
    if detect is not None:
        data["detect"] = detect
    if forecast is not None:
        data["forecast"] = {**data["forecast"], **forecast}
    path = tmp_path / "aiops.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def error_of(path: Path) -> str:
    with pytest.raises((ConfigError, ConfigErrors)) as info:
        load_config(path)
    return str(info.value)


def test_a_bad_candidate_setting_is_named_with_its_file_and_line(tmp_path: Path) -> None:
    """An out-of-range threshold, an unknown key and a fixed key are each refused by name."""
    p = write(tmp_path, {"candidates": [{"name": "strict", "set": {"threshold": 1.5}}]})
    msg = error_of(p)
    assert str(p) in msg and "detect.candidates" in msg and "threshold" in msg
    assert ":" in msg.split(str(p))[1]  # located: file:line
    p = write(tmp_path, {"candidates": [{"name": "strict", "set": {"treshold": 0.95}}]})
    assert "treshold: not a setting" in error_of(p)
    p = write(tmp_path, forecast={"candidates": [{"name": "q8", "set": {"metric": "cpu"}}]})
    assert "cannot change metric" in error_of(p)
    p = write(tmp_path, {"candidates": [{"name": "a", "set": {"threshold": 0.8}},
                                        {"name": "a", "set": {"threshold": 0.7}}]})
    assert "two candidates are named 'a'" in error_of(p)


def test_candidates_do_not_change_the_live_versions_or_their_state(tmp_path: Path) -> None:
    """Adding candidates keeps the live version ids and the forecaster's snapshot hash, and
    registers each candidate as a version of its own, child of live, not promoted."""
    plain = load_config(write(tmp_path))
    state = plain.resolve(plain.state_dir)
    before = runtime.prepare(plain, state, now=1.0, snapshots={}).running
    with_cands = load_config(write(
        tmp_path, {"candidates": [{"name": "lax", "set": {"signal_floor": 0.7}}]},
        {"candidates": [{"name": "q80", "set": {"quantile": 0.8}}]}))
    after = runtime.prepare(with_cands, state, now=2.0, snapshots={}).running
    assert after == before
    assert (WorkloadForecasts(with_cands.forecast).config_hash()
            == WorkloadForecasts(plain.forecast).config_hash())
    reg = runtime.registry_at(state)
    lax = reg.get(runtime.candidate_id(with_cands, ModelKind.DETECTOR, "lax"))
    assert lax.parent == before[ModelKind.DETECTOR] and lax.config["signal_floor"] == 0.7
    assert reg.live(ModelKind.DETECTOR).id == before[ModelKind.DETECTOR]  # type: ignore[union-attr]
    q80 = reg.get(runtime.candidate_id(with_cands, ModelKind.FORECASTER, "q80"))
    assert q80.config["quantile"] == 0.8 and "candidates" not in q80.config
