"""Detector and forecaster state on disk: atomic snapshots, restored with their config hash.

A snapshot taken under another configuration is refused by the bank or forecaster; the
daemon then starts fresh and says so in the log instead of scoring with stale state.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import structlog

from aiops.config import Config
from aiops.errors import AiopsError
from aiops.models import runtime as model_runtime
from aiops.models.versions import ModelKind
from aiops.statedir import StateDir


def restore(
    path: Path, load: Callable[[bytes], None], *, what: str,
    log: structlog.typing.FilteringBoundLogger,
) -> bool:
    """Feed ``path`` to ``load``; False (and a log line saying why) when starting fresh."""
    if not path.exists():
        return False
    try:
        load(path.read_bytes())
    except (AiopsError, ValueError, KeyError) as exc:
        log.warning(f"{what}_fresh", reason=str(exc))
        return False
    log.info(f"{what}_restored", path=str(path))
    return True


def live_models(config: Config, state: StateDir, *, now: float,
                log: structlog.typing.FilteringBoundLogger) -> Config:
    """``config`` with the model registry's live versions (docs/models.md), their
    snapshots put in place; ``config`` itself (logged) when the registry cannot be read."""
    files = {ModelKind.DETECTOR: state.path(StateDir.DETECTORS),
             ModelKind.FORECASTER: state.path(StateDir.FORECASTS)}
    try:
        res = model_runtime.prepare(config, state.root, now=now, snapshots=files)
    except (AiopsError, OSError) as exc:
        log.error("model_registry_failed", error=str(exc))
        return config
    for note in res.notes:
        log.warning("model_version", note=note)
    return res.config
