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


class GateConfig(Section):
    """Predictive capacity is earned per workload: replayed in shadow, then in control."""

    enabled: bool = Field(
        True,
        description="Gate the predictive policy (off: it controls every workload from the "
        "first cycle; the replay is still scored).",
    )
    window: Duration = Field(
        604800.0,
        gt=0,
        description="Recent demand both policies are replayed on and compared over (in "
        "sample time: sample_step per point).",
    )
    budget: float = Field(
        0.05,
        ge=0,
        description="Replica-hours the predictive policy may spend above the reactive one's "
        "on the window (0.05 = 5%).",
    )
    cost_window: Duration = Field(
        2419200.0,
        gt=0,
        description="Time constant of the replica-hour sums the budget is judged on (they "
        "forget older demand gradually; in sample time).",
    )
    ladder: list[float] = Field(
        default_factory=lambda: [0.8, 0.7],
        description="Cheaper upper-band quantiles (below forecast.quantile) the gate may "
        "control with when the configured one is over budget or does worse.",
    )
    evidence: Duration = Field(
        86400.0,
        gt=0,
        description="Replay needed before the predictive policy may take control (the "
        "start-up backfill counts).",
    )
    dwell: Duration = Field(
        86400.0,
        ge=0,
        description="How long a hand-over holds before another (a hand-back for decayed "
        "coverage or more under-provisioning is immediate).",
    )
    coverage_window: Duration = Field(
        604800.0,
        gt=0,
        description="Recent points each rung's upper-band coverage is checked on (misses "
        "come in runs, so a day is too short to call a decay).",
    )
    coverage_tolerance: float = Field(
        0.15,
        gt=0,
        lt=1,
        description="Control goes back to reactive when coverage falls below quantile minus "
        "this.",
    )


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
        description="Utilization the forecast's upper band is sized to; unset = halfway "
        "between target_utilization and 100% (the band already carries the uncertainty).",
    )
    min_replicas: int = Field(1, ge=1, description="Never ask for fewer replicas.")
    max_replicas: int = Field(100, ge=1, description="Never ask for more replicas.")
    scale_down_window: Duration = Field(
        300.0, description="Scale-down stabilization window (the HPA's default is 300 s)."
    )
    predictive_scale_down_window: Duration = Field(
        60.0,
        ge=0,
        description="Scale-down stabilization of the predictive policy (it holds capacity "
        "for the steps ahead itself, so it lets go sooner than the HPA's 300 s).",
    )
    residual_window: int = Field(
        672, ge=16, description="Out-of-sample residuals kept per horizon for the bands."
    )
    ramp_steps: int = Field(
        2,
        ge=0,
        description="Steps beyond the lead the predictive policy looks at, so a steep ramp "
        "starts early enough to be climbed at the scale-up rate limit.",
    )
    gate: GateConfig = Field(
        default_factory=GateConfig, description="When the predictive policy takes control."
    )

    @property
    def forecast_target(self) -> float:
        """Utilization the forecast's upper band is sized to."""
        if self.forecast_utilization is not None:
            return self.forecast_utilization
        return (1.0 + self.target_utilization) / 2.0

    def steps(self, span: float) -> int:
        """How many demand samples ``span`` seconds of sample time hold (at least 1)."""
        return max(1, round(span / (self.sample_step or self.interval)))
