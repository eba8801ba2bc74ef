"""Write a sandbox daemon configuration into a test's temporary directory."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
RUNBOOKS = ROOT / "runbooks" / "sandbox"


def sandbox_config(tmp_path: Path, *, faults: str = "default", http: bool = False,
                   port: int = 0, speed: float = 60.0, forecast: bool = False,
                   runbooks: Path = RUNBOOKS, actuator: dict[str, Any] | None = None) -> Path:
    """The embedded default (config/aiops.yaml) with its state inside ``tmp_path``.

    ``forecast=False`` leaves out the predictive scaling of catalog, so a test can
    reason about the four faults alone.
    """
    data = yaml.safe_load((ROOT / "config" / "aiops.yaml").read_text())
    data["state_dir"] = str(tmp_path / "state")
    data["source"]["sandbox"]["fault_schedule"] = faults
    data["loop"]["speed"] = speed
    data["runbooks"]["paths"] = [str(runbooks)]
    if actuator is not None:
        data["actuator"] = actuator
    data["http"] = {"enabled": http, "port": port}
    if not forecast:
        data.pop("forecast", None)
    cfg = tmp_path / "aiops.yaml"
    cfg.write_text(yaml.safe_dump(data))
    return cfg


def world_state(tmp_path: Path) -> dict[str, Any]:
    state: dict[str, Any] = json.loads((tmp_path / "state" / "sandbox.json").read_text())
    return state


def query(tmp_path: Path, sql: str, *args: object) -> list[sqlite3.Row]:
    """Read the journal with a separate read-only connection, as an operator would."""
    db = sqlite3.connect(f"file:{tmp_path / 'state' / 'journal.sqlite'}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()
