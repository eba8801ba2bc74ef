"""What the daemon calls: run the registry's live versions, and checkpoint their state.

At start-up :func:`prepare` reconciles the configuration file with the registry, kind
by kind:

* no live version yet: the file's version is registered and promoted (``first start``);
* the file's version is live: nothing changes;
* the file holds a configuration (or the code one) never registered: it is registered
  with the live version as parent and promoted (``configuration changed``), as a
  changed configuration always took effect;
* the file's version is registered but not live (an operator promoted or rolled back
  away from it): the **live** version's configuration runs, and a note says so.

When the version that runs is not the one whose state the daemon last checkpointed
(after a promotion or rollback), its state in the registry is written to the daemon's
snapshot file, so the daemon restores exactly that state. :func:`checkpoint` stores the
running versions' snapshots in the registry (the daemon calls it when it snapshots).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from aiops.config import Config
from aiops.config.detect import DetectConfig
from aiops.config.forecast import ForecastConfig
from aiops.errors import AiopsError
from aiops.models.registry import ModelRegistry
from aiops.models.versions import ModelKind, code_version, version_id
from aiops.statedir import write_atomic

_SECTIONS: dict[ModelKind, tuple[str, type[DetectConfig] | type[ForecastConfig]]] = {
    ModelKind.DETECTOR: ("detect", DetectConfig),
    ModelKind.FORECASTER: ("forecast", ForecastConfig),
}
_RUNNING = "running.json"


def registry_at(state_dir: Path) -> ModelRegistry:
    """The registry of the daemon whose state dir is ``state_dir``."""
    return ModelRegistry(state_dir / "models")


def sections(config: Config) -> dict[ModelKind, dict[str, Any]]:
    """The model configurations in ``config`` (the forecaster only when enabled)."""
    out = {ModelKind.DETECTOR: config.detect.model_dump(mode="json")}
    if config.forecast.enabled:
        out[ModelKind.FORECASTER] = config.forecast.model_dump(mode="json")
    return out


def running_id(config: Config, kind: ModelKind) -> str:
    """The version id of ``kind`` that ``config`` runs under the current code."""
    return version_id(kind, sections(config)[kind], code_version(kind))


@dataclass(frozen=True, kw_only=True, slots=True)
class Resolution:
    """The configuration to run, the version of each kind it runs, and notes to log."""

    config: Config
    running: Mapping[ModelKind, str]
    notes: tuple[str, ...]


def prepare(
    config: Config, state_dir: Path, *, now: float, snapshots: Mapping[ModelKind, Path]
) -> Resolution:
    """Reconcile ``config`` with the registry; put the live versions' state in place."""
    reg = registry_at(state_dir)
    notes: list[str] = []
    running: dict[ModelKind, str] = {}
    last = _read_running(reg.root)
    for kind, section in sections(config).items():
        code = code_version(kind)
        file_vid = version_id(kind, section, code)
        live = reg.live(kind)
        known = {v.id for v in reg.versions(kind)}
        run, by, why = section, "config", "configuration or code changed"
        if live is None:
            by, why = "aiops", "first start"
        elif live.id != file_vid and file_vid in known:
            # An operator promoted or rolled back away from the file's version.
            field, model = _SECTIONS[kind]
            try:
                chosen = model.model_validate(live.config)
            except ValidationError as exc:
                by, why = "aiops", f"live {live.id} no longer validates"
                notes.append(f"{kind.value}: {why} ({exc.error_count()} errors); running "
                             f"the configuration file's {file_vid}")
            else:
                config = config.model_copy(update={field: chosen})
                run, by, why = chosen.model_dump(mode="json"), "aiops", "code changed"
                notes.append(f"{kind.value}: running live {live.id}, not the configuration "
                             f"file's {file_vid} (promote that to use it)")
        vid = version_id(kind, run, code)
        if vid not in known:
            reg.register(kind, run, code=code, now=now, parent=live.id if live else None,
                         why=why)
        if live is None or live.id != vid:
            reg.promote(vid, by=by, why=why if live is None else f"{why} (was {live.id})",
                        now=now)
        running[kind] = vid
        if last.get(kind.value) not in (None, vid):
            blob = reg.state(vid)
            if blob is not None and kind in snapshots:
                write_atomic(snapshots[kind], blob)
                notes.append(f"{kind.value}: restoring the state of {vid} from the registry")
    return Resolution(config=config, running=running, notes=tuple(notes))


def checkpoint(
    config: Config,
    state_dir: Path,
    states: Mapping[ModelKind, bytes],
    *,
    now: float,
    trained_to: float | None = None,
) -> list[str]:
    """Store the running versions' snapshots in the registry; returns problems (not raised).

    ``trained_to`` is the time (on the daemon's clock) of the last sample learnt; the
    version's trained-on window runs from its first checkpoint's to it.
    """
    last = now if trained_to is None else trained_to
    reg = registry_at(state_dir)
    problems: list[str] = []
    done: dict[str, str] = {}
    for kind, blob in states.items():
        try:
            vid = running_id(config, kind)
            first = reg.get(vid).trained_on
            reg.checkpoint(vid, blob, now=now, trained_on=(first[0] if first else last, last))
            done[kind.value] = vid
        except (AiopsError, OSError, KeyError) as exc:
            problems.append(f"{kind.value}: checkpoint failed: {exc}")
    if done:
        write_atomic(reg.root / _RUNNING,
                      json.dumps({**_read_running(reg.root), **done}, sort_keys=True).encode())
    return problems


def _read_running(root: Path) -> dict[str, str]:
    try:
        data = json.loads((root / _RUNNING).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
