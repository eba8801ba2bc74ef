"""Configuration of demand forecasting and predictive scaling."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from aiops.config.base import Section
from aiops.config.durations import Duration

ModelName = Literal[
    "auto",
    "multi_seasonal",
    "multi_seasonal_fast",
    "holt_winters_additive",
    "holt_winters_multiplicative",
    "seasonal_naive_daily",
    "seasonal_naive_weekly",
]


class ForecastConfig(Section):
    """Forecast demand per workload and scale ahead of it."""

    enabled: bool = Field(False, description="Run the forecast loop.")
    metric: str = Field("request_rate", description="Demand metric to forecast.")
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="Only series of the demand metric with these label values are forecast.",
    )
    target_kind: Literal["Deployment", "StatefulSet", "SandboxWorkload"] = Field(
        "Deployment", description="Kind of the workload a demand series belongs to."
    )
    name_label: str = Field(
        "deployment", description="Label of the demand series that names the workload."
    )
    backfill: Duration = Field(
        604800.0,
        description="Demand history pulled at start-up to fit the seasons (skipped when "
        "forecaster state was restored); 0 disables.",
    )
    season: Duration = Field(86400.0, description="Main seasonal period.")
    startup: Duration = Field(90.0, description="Pod start-up time to forecast ahead of.")
    target_utilization: float = Field(0.7, gt=0, le=1, description="Target utilization.")
    capacity_per_replica: float | None = Field(
        None, description="Requests/s one replica serves; learnt from utilization when unset."
    )
    quantile: float = Field(0.9, gt=0.5, lt=1, description="Forecast quantile provisioned for.")
    model: ModelName = Field(
        "auto",
        description="Forecaster: 'auto' picks per workload by recent out-of-sample error.",
    )
    interval: Duration = Field(
        60.0, gt=0, description="Forecast cycle period; one demand sample is learnt per cycle."
    )
    sample_step: Duration | None = Field(
        None,
        description=(
            "Time one demand sample stands for when finding daily/weekly periods; defaults "
            "to interval (set 1800 when replaying a 30-minute trace at one point per cycle)."
        ),
    )
    forecast_utilization: float | None = Field(
        None,
        gt=0,
        le=1,
        description="Utilization the forecast term is sized to; unset = target_utilization.",
    )
    min_replicas: int = Field(1, ge=1, description="Never ask for fewer replicas.")
    max_replicas: int = Field(100, ge=1, description="Never ask for more replicas.")
    scale_down_window: Duration = Field(
        300.0, description="Scale-down stabilization window (the HPA's default is 300 s)."
    )
    residual_window: int = Field(
        672, ge=16, description="Out-of-sample residuals kept per horizon for the bands."
    )
