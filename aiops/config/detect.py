"""Configuration of the detector bank."""

from __future__ import annotations

from pydantic import Field

from aiops.config.base import Section


class DetectConfig(Section):
    """Streaming anomaly detection settings, the same for every series."""

    detector: str = Field("robust", description="Detector used for every series.")
    warmup: int = Field(30, ge=1, description="Samples a series needs before it is scored.")
    alpha: float = Field(0.05, gt=0, lt=1, description="EWMA smoothing of level and scale.")
    threshold: float = Field(
        0.9, ge=0, le=1, description="Score above which a point is anomalous (not learnt from)."
    )
    signal_floor: float = Field(
        0.9, ge=0, le=1, description="Scores at or above this become Anomaly signals."
    )
