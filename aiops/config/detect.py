"""Configuration of the detector bank."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from aiops.config.base import Section
from aiops.config.candidates import (
    MAX_CANDIDATES,
    Candidate,
    check_overrides,
    unique_names,
    variant,
)
from aiops.config.durations import Duration

#: Settings a detector candidate cannot change: it runs the per-series bank only.
CANDIDATE_FIXED = frozenset({"candidates", "joint"})


class Season(Section):
    """One seasonal baseline: the usual level per phase of a period."""

    period: Duration = Field(description="Length of the season (e.g. 1d, 7d).")
    bins: int = Field(ge=1, le=10_000, description="Phases per period (24 = hourly for 1d).")
    alpha: float = Field(0.1, gt=0, lt=1, description="EWMA weight of each phase's level.")


class JointSection(Section):
    """The joint (multivariate) view: river HalfSpaceTrees on each workload's vector."""

    enabled: bool = Field(
        False,
        description=(
            "Score each workload's joint vector of `metrics` (series sharing one label set) "
            "with HalfSpaceTrees, as series `joint{<workload labels>}`. Off by default."
        ),
    )
    metrics: list[str] = Field(
        default_factory=lambda: ["cpu_usage", "memory_usage", "latency_p99"],
        min_length=2,
        description=(
            "Metrics forming the vector; a workload is scored in a cycle only when every one "
            "has a finite sample (incomplete vectors are skipped and counted)."
        ),
    )
    warmup: int = Field(
        100, ge=2, description="Vectors buffered to learn each metric's range before the trees."
    )
    window_size: int = Field(
        100, ge=10, description="HalfSpaceTrees reference window (vectors); scores start after one."
    )
    n_trees: int = Field(
        100,
        ge=1,
        le=500,
        description=(
            "HalfSpaceTrees trees per workload (fewer are faster but noisier: 25 trees "
            "flag a normal vector several times as often)."
        ),
    )
    height: int = Field(6, ge=1, le=12, description="Height of each tree.")
    calibration: int = Field(
        256,
        ge=32,
        description=(
            "Recent raw scores per workload whose upper tail calibrates the raw "
            "HalfSpaceTrees score into a tail probability (32 needed before scoring)."
        ),
    )
    decades: float = Field(
        3.0,
        gt=0,
        description=(
            "Calibrated score 1.0 means a tail probability of 10^-decades (beyond the 90th "
            "percentile of recent raw scores the tail is fitted as exponential)."
        ),
    )
    max_workloads: int = Field(
        1000,
        ge=1,
        description="Workloads tracked at most; further ones are ignored and counted.",
    )


class DetectCandidate(Candidate):
    """A shadow detector candidate: the live detect settings with ``set`` changed."""

    @field_validator("set")
    @classmethod
    def _settings(cls, v: dict[str, Any]) -> dict[str, Any]:
        check_overrides(DetectConfig, v, fixed=CANDIDATE_FIXED)
        return v


class DetectConfig(Section):
    """Streaming anomaly detection settings, the same for every series."""

    detector: Literal["robust"] = Field(
        "robust",
        description=(
            "Detector used for every series: 'robust' is the vectorized ensemble of spike, "
            "level-shift and trend statistics with tail-probability calibration."
        ),
    )
    warmup: int = Field(30, ge=1, description="Samples a series needs before it is scored.")
    alpha: float = Field(
        0.05, gt=0, lt=1, description="EWMA weight of the baseline level (expected value)."
    )
    fast_alpha: float = Field(
        0.2, gt=0, lt=1, description="EWMA weight of the recent level used to spot level shifts."
    )
    slow_alpha: float = Field(
        0.01, gt=0, lt=1, description="EWMA weight of the long-term level used to spot trends."
    )
    scale_alpha: float = Field(
        0.005, gt=0, lt=1, description="EWMA weight of each statistic's learnt spread."
    )
    trend_scale_alpha: float = Field(
        0.001,
        gt=0,
        lt=1,
        description=(
            "EWMA weight of the trend statistic's spread: slow, so a steady leak cannot "
            "teach the detector that drifting is normal."
        ),
    )
    threshold: float = Field(
        0.9, ge=0, le=1, description="Score above which a point is anomalous (not learnt from)."
    )
    signal_floor: float = Field(
        0.9, ge=0, le=1, description="Scores at or above this become Anomaly signals."
    )
    decades: float = Field(
        8.0,
        gt=0,
        description=(
            "Score 1.0 means a tail probability of 10^-decades; 0.9 means 10^-(0.9*decades)."
        ),
    )
    clip: float = Field(
        4.0, gt=0, description="Deviations are clipped at this many spreads before being learnt."
    )
    min_rel_scale: float = Field(
        0.001,
        ge=0,
        description="Floor on a series' spread, relative to its level (flat series stay scorable).",
    )
    adopt_after: int = Field(
        40,
        ge=1,
        description=(
            "Consecutive anomalous samples after which the recent level is adopted as the new "
            "normal (a persistent shift stops being anomalous)."
        ),
    )
    episode_open: float = Field(
        0.32,
        gt=0,
        le=1,
        description=(
            "Score at which a series' anomaly episode starts (when none is open). The "
            "episode's start is the one report per burst (`aiops detect` and NAB score it); "
            "runbooks still decide on each sample's score (score_above)."
        ),
    )
    episode_min: int = Field(
        300,
        ge=0,
        description=(
            "Samples an episode lasts at least: a disturbance is reported once, not once "
            "per burst within it (a range record still starts a new episode)."
        ),
    )
    episode_calm: int = Field(
        30,
        ge=1,
        description=(
            "Consecutive samples below episode_open that end an episode (once it has lasted "
            "episode_min)."
        ),
    )
    episode_renew: float = Field(
        0.8,
        ge=0,
        le=1,
        description=(
            "Score that starts a new episode inside one held open only by episode_min "
            "(0 = off): after a full calm spell (episode_calm samples below episode_open), "
            "a sample this strong at a value beyond every earlier anomalous value of the "
            "series (by record_tolerance of its range) is a new event, not more of the "
            "old burst."
        ),
    )
    floor_share: float = Field(
        0.5,
        ge=0,
        description=(
            "Floor on each statistic's spread as a share of the series' long-run spread "
            "(learnt from every point): bursty series keep a sense of their usual range."
        ),
    )
    floor_alpha: float = Field(
        0.002, gt=0, lt=1, description="EWMA weight of the long-run spread behind the floor."
    )
    recurring_period: Duration = Field(
        86400.0,
        ge=0,
        description=(
            "Period of the recurring-pattern envelope (e.g. 1d; 0 = off): per phase bin, the "
            "highest and lowest value seen recently, anomalies included. A value inside the "
            "envelope of its bin (or a neighbour's) has been seen at this time of day before "
            "and its score is multiplied by recurring_discount."
        ),
    )
    recurring_bins: int = Field(
        24, ge=1, le=10_000, description="Phase bins of the recurring-pattern envelope."
    )
    recurring_neighbours: int = Field(
        1, ge=0, description="Neighbouring bins on each side also consulted (jobs drift)."
    )
    recurring_halflife_periods: float = Field(
        25.0,
        gt=0,
        description=(
            "Half-life of the envelope's extremes, in periods (finished visits to their bin, "
            "whatever the sampling interval): old peaks relax towards the series' long-run "
            "level."
        ),
    )
    recurring_discount: float = Field(
        0.75,
        ge=0,
        le=1,
        description="Score multiplier for a value inside the envelope (1 = no effect).",
    )
    repeat_discount: float = Field(
        0.2,
        ge=0,
        le=1,
        description=(
            "Score multiplier for a recurring anomaly (1 = off; needs recurring_period): per "
            "phase bin, the extremes of values that scored at least repeat_level are kept, and "
            "a value within repeat_margin of one seen at this phase before (the nightly job's "
            "spike, slightly higher tonight) is multiplied by this."
        ),
    )
    repeat_level: float = Field(
        0.8, ge=0, le=1, description="Score from which a value counts as an anomaly to remember."
    )
    repeat_margin: float = Field(
        0.5,
        ge=0,
        description=(
            "How far beyond a remembered anomaly still counts as a repeat, as a share of its "
            "distance from the long-run level (0.5 = up to 1.5 times as far)."
        ),
    )
    records: bool = Field(
        True,
        description=(
            "Score a warm value beyond the series' whole observed range (a new maximum or "
            "minimum by more than record_tolerance of the range) by how rare such a record "
            "is: log10(samples seen) + margin / (record_tolerance ln 10) decades. A record "
            "strong enough to open an episode starts a new one even inside an episode."
        ),
    )
    record_tolerance: float = Field(
        0.02,
        gt=0,
        description=(
            "Share of the observed range a record must exceed it by, and the tail scale "
            "(as a share of the range) that turns the margin into evidence."
        ),
    )
    drift_threshold: float = Field(
        0.0,
        ge=0,
        description=(
            "Page-Hinkley threshold, in spread-samples, for telling a new normal from an "
            "anomaly (0 = off): when the test confirms a lasting shift while a series is "
            "anomalous, the series adopts the new level at once instead of after adopt_after "
            "samples (e.g. 50: a shift of 3 spreads is confirmed in about 20 samples)."
        ),
    )
    seasons: list[Season] = Field(
        default_factory=lambda: [
            Season(period=86400.0, bins=24, alpha=0.1),
            Season(period=7 * 86400.0, bins=336, alpha=0.3),
        ],
        description=(
            "Seasonal baselines scored alongside the raw value (each costs bins x 16 bytes "
            "per series); e.g. [{period: 1d, bins: 24}, {period: 7d, bins: 336, alpha: 0.3}]."
        ),
    )
    joint: JointSection = Field(
        default_factory=JointSection,
        description="Joint (multivariate) HalfSpaceTrees view per workload (opt-in).",
    )
    candidates: list[DetectCandidate] = Field(
        default_factory=list,
        max_length=MAX_CANDIDATES,
        description=(
            "Shadow candidates: variants of these settings scored beside the live bank on the "
            "same samples; their episodes and would-be runbook decisions are journaled, never "
            "acted on (`aiops models compare`). E.g. [{name: strict, set: {threshold: 0.95, "
            "signal_floor: 0.95}}]. Not part of the live version's identity."
        ),
    )

    @model_validator(mode="after")
    def _unique_candidates(self) -> DetectConfig:
        unique_names(self.candidates)
        return self

    def candidate_configs(self) -> dict[str, DetectConfig]:
        """Each candidate's whole configuration: these settings with its own set."""
        return {c.name: variant(self, c.set, exclude={"candidates"}) for c in self.candidates}


# Named settings for the CLI (``--preset``). "default" is what the daemon runs and what
# `aiops bench nab` scores: raw, daily and weekly views, the recurring-pattern envelope
# and the recurring-anomaly memory, range records, one episode report per burst.
# "lean" drops the seasonal views (a tenth of the memory, twice the speed); "classic"
# is the earlier daemon default (no seasons, floors, envelopes or records).
PRESETS: dict[str, dict[str, object]] = {
    "default": {},
    "lean": {"seasons": []},
    "classic": {
        "scale_alpha": 0.02,
        "episode_renew": 0.0,
        "floor_share": 0.0,
        "recurring_period": 0.0,
        "recurring_discount": 1.0,
        "repeat_discount": 1.0,
        "records": False,
        "seasons": [],
    },
}


def preset(name: str) -> DetectConfig:
    """The detector settings of a named preset (KeyError if unknown).

    >>> preset("lean").seasons
    []
    >>> preset("default") == DetectConfig()
    True
    """
    return DetectConfig.model_validate(PRESETS[name])
