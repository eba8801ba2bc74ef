"""What the web page's status panel shows: readiness, the clock, backends, model status.

A pure function of values the daemon hands over (it reads no clock and no state of its
own), so ``/v1/status`` answers the same shape whatever runs behind it. A model's
``version`` is the digest of its configuration with the code version; ``state`` says
whether it continued from a snapshot or started fresh.

>>> from aiops.config import Config
>>> from aiops.http.health import Health
>>> from aiops.telemetry.history import SeriesHistory
>>> s = page_status(config=Config(), health=Health(alive=True, ready=True, checks={}),
...                 now=0.0, speed=60.0, source="sandbox", actuator="sandbox",
...                 history=SeriesHistory(), restored=False, forecaster=None)
>>> s["clock"], [m["name"] for m in s["models"]]
({'name': 'sim', 'speed': 60.0, 'stepped': False}, ['detector'])
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from aiops import __version__
from aiops.config import Config
from aiops.engines.forecast import ForecastEngine
from aiops.http.health import Health
from aiops.telemetry.history import SeriesHistory


def clock_name(config: Config, speed: float | None) -> Literal["sim", "wall"]:
    """``sim`` for the sandbox, replays, stepped and accelerated clocks; else ``wall``."""
    if config.source.type in ("sandbox", "replay") or speed is None or speed != 1.0:
        return "sim"
    return "wall"


def _digest(text: str) -> str:
    return hashlib.sha256(f"{__version__}:{text}".encode()).hexdigest()[:12]


def page_status(
    *,
    config: Config,
    health: Health,
    now: float,
    speed: float | None,
    source: str,
    actuator: str,
    history: SeriesHistory,
    restored: bool,
    forecaster: ForecastEngine | None,
    forecast_restored: bool = False,
) -> dict[str, Any]:
    """The ``/v1/status`` document."""
    det = config.detect
    seen = history.last
    models: list[dict[str, Any]] = [{
        "name": "detector",
        "kind": det.detector,
        "version": _digest(det.model_dump_json()),
        "state": "restored from snapshot" if restored else "fresh",
        "series": seen.scored, "warm": seen.warm, "anomalous": seen.anomalous,
        "summary": (f"{det.detector}, warm-up {det.warmup} samples, signal floor "
                    f"{det.signal_floor:g}: {seen.scored} series scored, {seen.warm} warm, "
                    f"{seen.anomalous} anomalous now"
                    + f"; {'restored' if restored else 'fresh'} state, version "
                    f"{_digest(det.model_dump_json())}"),
    }]
    if det.joint.enabled:
        models.append({"name": "joint detector", "kind": "joint", "state": "rebuilt from history",
                       "version": _digest(det.joint.model_dump_json()),
                       "summary": f"per-workload vector of {', '.join(det.joint.metrics)}"})
    if forecaster is not None:
        fc = config.forecast
        workloads = len(history.forecast_keys())
        version = forecaster.workloads.config_hash()
        models.append({
            "name": "forecaster", "kind": fc.model, "version": version, "workloads": workloads,
            "state": "restored from snapshot" if forecast_restored else "fresh",
            "summary": (f"{fc.model} on {fc.metric}, quantile {fc.quantile:g}: {workloads} "
                        f"workload(s) forecast; {'restored' if forecast_restored else 'fresh'}"
                        f" state, version {version}"),
        })
    return {
        "version": __version__, "now": now, "ready": health.ready, "checks": health.checks,
        "clock": {"name": clock_name(config, speed), "speed": speed, "stepped": speed is None},
        "source": source, "actuator": actuator, "models": models,
        "history": {"series": len(history.series_keys()), "points": history.points,
                    "max_series": history.max_series, "refused": history.refused,
                    "bytes": history.nbytes},
    }
