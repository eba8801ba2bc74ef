"""Configuration of the detector bank."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from aiops.config.base import Section


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
        0.02, gt=0, lt=1, description="EWMA weight of each statistic's learnt spread."
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
    suppress: int = Field(
        0,
        ge=0,
        description=(
            "After a score crosses threshold, report scores below it for this many samples "
            "(one detection per burst; useful for benchmarks, 0 keeps every score)."
        ),
    )
    floor_share: float = Field(
        0.0,
        ge=0,
        description=(
            "Floor on each statistic's spread as a share of the series' long-run spread "
            "(learnt from every point): bursty series keep a sense of their usual range."
        ),
    )
    floor_alpha: float = Field(
        0.002, gt=0, lt=1, description="EWMA weight of the long-run spread behind the floor."
    )
