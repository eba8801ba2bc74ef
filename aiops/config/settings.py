"""The daemon's configuration file (``apiVersion: aiops/v1``, ``kind: Config``)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from aiops.config.actuators import ActuatorConfig
from aiops.config.base import Section
from aiops.config.detect import DetectConfig
from aiops.config.durations import Duration
from aiops.config.forecast import ForecastConfig
from aiops.config.journal import JournalConfig
from aiops.config.server import HttpConfig
from aiops.config.sources import SourceConfig
from aiops.config.yamlsource import read_yaml, validate
from aiops.errors import ConfigError


class LoopConfig(Section):
    """How often the loops run, in the daemon's (possibly simulated) time."""

    interval: Duration = Field(15.0, gt=0, description="Poll + detect cycle period.")
    speed: float = Field(
        1.0, gt=0, description="Clock speed: 60 runs an hour of simulated time per minute."
    )
    backfill: Duration = Field(
        3600.0,
        description="History pulled from the source at start-up so detectors are warm before "
        "the first live cycle (skipped when detector state was restored); 0 disables.",
    )


class RunbooksConfig(Section):
    """Where runbooks are loaded from."""

    paths: list[str] = Field(
        default_factory=lambda: ["runbooks"],
        description="Files or directories of runbook YAML (relative to the config file).",
    )


class GuardDefaults(Section):
    """Global safety limits applied to every runbook."""

    deny_namespaces: list[str] = Field(
        default_factory=lambda: ["kube-system"], description="Namespaces no runbook may touch."
    )
    allow_namespaces: list[str] = Field(
        default_factory=list,
        description="If set, the only namespaces any runbook may touch, whatever the trigger "
        "(alert labels, anomaly labels, forecasts, schedules) says; empty: any not denied.",
    )
    changes_per_hour: int = Field(
        20, ge=0, description="Global budget of mutating actions per hour."
    )


class Config(Section):
    """Root of ``aiops.yaml``."""

    apiVersion: Literal["aiops/v1"] = Field(
        "aiops/v1", description="Schema version of this file."
    )
    kind: Literal["Config"] = Field("Config", description="Always Config.")
    mode: Literal["dry-run", "approve", "auto"] | None = Field(
        None, description="Override every runbook's mode (e.g. dry-run for a trial)."
    )
    state_dir: str = Field("state", description="Journal, detector and sandbox state.")
    journal: JournalConfig = Field(default_factory=JournalConfig)
    source: SourceConfig = Field(default_factory=SourceConfig)
    actuator: ActuatorConfig = Field(default_factory=ActuatorConfig)
    detect: DetectConfig = Field(default_factory=DetectConfig)
    forecast: ForecastConfig = Field(default_factory=ForecastConfig)
    http: HttpConfig = Field(default_factory=HttpConfig)
    loop: LoopConfig = Field(default_factory=LoopConfig)
    runbooks: RunbooksConfig = Field(default_factory=RunbooksConfig)
    guards: GuardDefaults = Field(default_factory=GuardDefaults)

    # Set by the loader: the directory relative paths are resolved against.
    base_dir: str = Field(".", exclude=True, description="(set by the loader)")

    @model_validator(mode="after")
    def _check(self) -> Config:
        if self.source.type == "replay" and self.source.replay is None:
            raise ValueError("source.type is replay but source.replay is not set")
        return self

    def resolve(self, path: str) -> Path:
        """A path from this config, relative to the config file's directory."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else Path(self.base_dir) / p


def load_config(path: Path) -> Config:
    """Read, validate and locate errors in a configuration file."""
    doc = read_yaml(path)
    if not isinstance(doc.data, dict):
        raise ConfigError("expected a mapping at the top level", file=doc.file, line=1, column=1)
    data = dict(doc.data)
    data["base_dir"] = str(path.resolve().parent)
    located = dataclasses.replace(doc, data=data)
    return validate(Config, located)
