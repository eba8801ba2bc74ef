"""Write a sandbox daemon configuration into a test's temporary directory."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RUNBOOKS = ROOT / "runbooks" / "sandbox"


def sandbox_config(tmp_path: Path, *, faults: str = "default", http: bool = False,
                   port: int = 0, speed: float = 60.0) -> Path:
    """A config like the embedded default, with its state inside ``tmp_path``."""
    cfg = tmp_path / "aiops.yaml"
    cfg.write_text(
        "apiVersion: aiops/v1\nkind: Config\n"
        f"state_dir: {tmp_path / 'state'}\n"
        f"source: {{type: sandbox, sandbox: {{fault_schedule: {faults}}}}}\n"
        "actuator: {type: sandbox}\n"
        f"loop: {{interval: 15s, speed: {speed}}}\n"
        f"runbooks: {{paths: [{RUNBOOKS}]}}\n"
        f"http: {{enabled: {str(http).lower()}, port: {port}}}\n"
    )
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
