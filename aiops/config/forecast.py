"""Configuration of demand forecasting and predictive scaling."""

from __future__ import annotations

from pydantic import Field

from aiops.config.base import Section
from aiops.config.durations import Duration


class ForecastConfig(Section):
    """Forecast demand per workload and scale ahead of it."""

    enabled: bool = Field(False, description="Run the forecast loop.")
    metric: str = Field("request_rate", description="Demand metric to forecast.")
    season: Duration = Field(86400.0, description="Main seasonal period.")
    startup: Duration = Field(90.0, description="Pod start-up time to forecast ahead of.")
    target_utilization: float = Field(0.7, gt=0, le=1, description="Target utilization.")
    capacity_per_replica: float | None = Field(
        None, description="Requests/s one replica serves; learnt from utilization when unset."
    )
    quantile: float = Field(0.9, gt=0.5, lt=1, description="Forecast quantile provisioned for.")
