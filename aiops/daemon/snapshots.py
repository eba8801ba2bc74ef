"""Detector and forecaster state on disk: atomic snapshots, restored with their config hash.

A snapshot taken under another configuration is refused by the bank or forecaster; the
daemon then starts fresh and says so in the log instead of scoring with stale state.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import structlog

from aiops.errors import AiopsError


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
