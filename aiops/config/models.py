"""Configuration of the models' lifecycle in the daemon: shadow runs, drift, feedback."""

from __future__ import annotations

from pydantic import Field

from aiops.config.base import Section
from aiops.config.durations import Duration


class ShadowSettings(Section):
    """How shadow candidates (``detect.candidates``, ``forecast.candidates``) are journaled."""

    summary_every: Duration = Field(
        3600.0,
        gt=0,
        description="Journal each model's running figures (cycles, cost per cycle, forecast "
        "error and coverage) this often, in daemon time; episodes are journaled as they end.",
    )
    max_open_episodes: int = Field(
        10_000,
        ge=1,
        description="Open episodes tracked per model at most; further ones are counted as "
        "dropped, never journaled (bounds memory on a flood of anomalies).",
    )


class DriftSettings(Section):
    """A series drifting away from the distribution its model was trained on is a signal."""

    enabled: bool = Field(
        True,
        description="Raise `model-drift` signals (runbooks trigger on them with "
        "`model_drift: {metric: ...}`); no runbook, no action.",
    )
    reference: Duration = Field(
        86400.0,
        gt=0,
        description="Span of each series' first samples under the running version (the "
        "start-up backfill counts) whose distribution is the reference: the training window.",
    )
    window: Duration = Field(
        86400.0,
        gt=0,
        description="Recent span compared with the reference (a whole season, so a daily "
        "pattern is not mistaken for drift); judged once per window/24.",
    )
    threshold: float = Field(
        0.25,
        gt=0,
        description="Population stability index (PSI) of the recent window against the "
        "reference above which a series has drifted (0.1 moderate, 0.25 large).",
    )
    bins: int = Field(10, ge=4, le=50, description="Quantile bins of the reference.")
    max_series: int = Field(
        5000, ge=1, description="Series watched at most; further ones are not (counted)."
    )


class SensitivitySettings(Section):
    """Learning from operators' feedback: fewer alarms on series that keep crying wolf."""

    enabled: bool = Field(
        False,
        description="Raise a series' signal floor after repeated false-positive feedback "
        "(journaled; undone by `aiops sensitivity --reset SERIES`, a true positive, or "
        "turning this off).",
    )
    after: int = Field(
        2, ge=1, description="False positives on a series (since its last reset) per raise."
    )
    step: float = Field(0.02, gt=0, le=0.1, description="Signal floor raised per step.")
    max_raise: float = Field(
        0.06, gt=0, le=0.2, description="Most a series' floor is ever raised above the live one."
    )
    max_series: int = Field(
        1000, ge=1, description="Series adjusted at most (further false positives only count)."
    )


class ModelsConfig(Section):
    """Models in production: shadow candidates, drift signals, operator feedback."""

    shadow: ShadowSettings = Field(default_factory=ShadowSettings)
    drift: DriftSettings = Field(default_factory=DriftSettings)
    sensitivity: SensitivitySettings = Field(default_factory=SensitivitySettings)
