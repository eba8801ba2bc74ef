"""Autoscaling benchmark: replay a demand trace through pods under HPA and predictive policies.

Each trace point is one control step (``step`` seconds, 60 by default: a 30-minute
trace "compressed to 60 s steps"). The trace is scaled linearly so its peak is
``peak_rps`` requests/s; every pod serves ``capacity`` requests/s and becomes ready
``startup`` seconds after it is created. At the start of each step the controller sees
the demand of the step just ended, decides, and the pods change; demand above the ready
capacity in a step is dropped. The reactive HPA and two predictive operating points run
in the same replay and share one forecaster, so the figures are ratios within one run:

* point A: the HPA's own rule and target (70%) as the floor, plus the ``quantile_a``
  upper forecast sized to ``forecast_target_a`` utilization (aims at far less
  under-provisioning for a few % more replica-hours);
* point B: a higher reactive target (``target_b``), the ``quantile_b`` forecast sized to
  ``forecast_target_b`` and a shorter scale-down window ``window_b`` (the forecast
  already anticipates falls), aiming at fewer replica-hours at no more
  under-provisioning;
* **gated (shipped)**: what the daemon ships, run through the same
  :class:`~aiops.forecast.workloads.WorkloadForecasts` the forecast engine calls, with
  the default :class:`~aiops.config.forecast.ForecastConfig` (only the pods' capacity and
  start-up, the HPA target and the trace's step come from the bench): its own forecaster,
  the ramp-aware predictive rule, and the capacity gate that keeps the HPA in control of
  the workload until the predictive rule beats it on the replayed recent window.

A and B are reference operating points; only the gated policy is the shipped one. Every
policy is scored on the same steps, after ``warmup`` steps of forecaster learning.
Missing timestamps in the trace are gaps (NaN); pods and policies see them linearly
interpolated.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from aiops.bench.traces import Trace, interpolate_gaps
from aiops.config.forecast import ForecastConfig
from aiops.forecast.accuracy import mase, smape
from aiops.forecast.auto import AutoSelect
from aiops.forecast.base import VectorForecaster
from aiops.forecast.capacity import CapacityDecision, HpaSpec, Observation, PolicyState, decide
from aiops.forecast.catalog import FORECASTERS, make_forecaster, periods
from aiops.forecast.gate import GateDecision, GateMode
from aiops.forecast.replay import SimulatedPods
from aiops.forecast.workloads import DemandSample, WorkloadForecasts
from aiops.model import SeriesKey

FloatArray = NDArray[np.float64]
HORIZONS = (1, 5, 10)


@dataclass(frozen=True, kw_only=True, slots=True)
class BenchConfig:
    """Knobs of one replay."""

    step: float = 60.0
    startup: float = 90.0
    target: float = 0.7
    quantile_a: float = 0.8
    forecast_target_a: float | None = 0.85
    target_b: float = 0.95
    quantile_b: float = 0.7
    forecast_target_b: float | None = 0.85
    window_b: float = 120.0
    capacity: float = 100.0
    peak_rps: float = 2000.0
    min_replicas: int = 1
    max_replicas: int = 200
    model: str = "multi_seasonal_fast"
    warmup: int = 672
    limit: int | None = None
    measure_cost: bool = True
    # The shipped policy's forecaster; None = the ForecastConfig default (what ships).
    gated_model: str | None = None
    # The shipped policy's forecast configuration (a model version's); None = defaults.
    forecast: Mapping[str, Any] | None = None


SHIPPED = "gated (shipped)"


def shipped_config(cfg: BenchConfig, native_step: float) -> ForecastConfig:
    """The daemon's default forecast configuration (or ``cfg.forecast``), with the bench's
    pods and clock."""
    extra: dict[str, object] = {} if cfg.gated_model is None else {"model": cfg.gated_model}
    return ForecastConfig.model_validate(
        {
            **(cfg.forecast or {}),
            "enabled": True,
            "capacity_per_replica": cfg.capacity,
            "startup": cfg.startup,
            "interval": cfg.step,
            "sample_step": native_step,
            **({} if cfg.forecast else {"target_utilization": cfg.target}),
            "min_replicas": cfg.min_replicas,
            "max_replicas": cfg.max_replicas,
            "backfill": 0,
            **extra,
        }
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class PolicyResult:
    """Scores of one policy over the scored steps."""

    name: str
    target: float
    quantile: float | None
    under_share: float
    dropped: float
    dropped_share: float
    replica_hours: float
    scale_events: int
    forecast_decisions: int
    ready: FloatArray
    shipped: bool = False
    in_control: float | None = None  # gated: share of scored steps the forecast controlled
    handovers: int = 0  # gated: transitions between reactive and predictive control


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelAccuracy:
    """MASE / sMAPE at :data:`HORIZONS` and update cost of one forecaster."""

    name: str
    mase: tuple[float, ...]
    smape: tuple[float, ...]
    us_per_point: float
    us_per_point_vectorized: float


@dataclass(frozen=True, kw_only=True, slots=True)
class BenchResult:
    """Everything ``aiops bench autoscale`` prints and draws."""

    trace: str
    config: BenchConfig
    scaling: str
    steps: int
    scored_steps: int
    policies: tuple[PolicyResult, ...]
    accuracy: tuple[ModelAccuracy, ...]
    coverage: float
    chosen: str
    demand: FloatArray
    band: tuple[FloatArray, FloatArray]
    last_decision_reasons: tuple[str, ...]
    gated_model: str = ""
    gated_mase: float | None = None  # the shipped forecaster's MASE at the lead
    last_gate: str = ""
    gate_reasons: tuple[tuple[str, int], ...] = ()  # reason code -> scored steps

    def ratio(self, name: str, attr: str) -> float:
        """``name``'s figure ``attr`` divided by the HPA's (NaN when the HPA's is 0)."""
        base = getattr(self.policies[0], attr)
        val = getattr(next(p for p in self.policies if p.name == name), attr)
        return float(val / base) if base else float("nan")


def lead_steps(cfg: BenchConfig) -> int:
    """Steps ahead the forecast must cover: now + start-up + one control interval."""
    return max(1, math.ceil((cfg.startup + cfg.step) / cfg.step))


def run(trace: Trace, cfg: BenchConfig) -> BenchResult:
    """Replay ``trace`` under the HPA, both predictive operating points and the shipped one."""
    raw = trace.values if cfg.limit is None else trace.values[: cfg.limit]
    peak = float(np.nanmax(raw))
    demand = interpolate_gaps(raw / peak * cfg.peak_rps)
    n = len(demand)
    lead = lead_steps(cfg)
    hmax = max(max(HORIZONS), lead)
    # Every model learns the same points (the auto selector runs them all), so the
    # accuracy table covers all of them whichever one drives the predictive policies.
    suite = make_forecaster(
        "auto", step=trace.native_step, max_horizon=max(16, hmax), select_horizon=lead
    )
    assert isinstance(suite, AutoSelect)
    models: list[VectorForecaster] = [*suite.candidates, suite]
    model = driver(suite, cfg.model, trace.native_step)
    preds = np.full((len(models), len(HORIZONS), n), np.nan)
    band_lo, band_hi = np.full(n, np.nan), np.full(n, np.nan)
    policies = [
        ("hpa", cfg.target, None),
        ("predictive A", cfg.target, cfg.quantile_a),
        ("predictive B", cfg.target_b, cfg.quantile_b),
    ]
    specs = [
        HpaSpec(
            min_replicas=cfg.min_replicas,
            max_replicas=cfg.max_replicas,
            target_utilization=t,
            forecast_utilization={
                "predictive A": cfg.forecast_target_a,
                "predictive B": cfg.forecast_target_b,
            }.get(name),
            scale_down_window=cfg.window_b if name == "predictive B" else 300.0,
        )
        for name, t, _ in policies
    ]
    shipped = shipped_config(cfg, trace.native_step)
    gated = WorkloadForecasts(shipped)
    gkey = SeriesKey.of(shipped.metric, workload=trace.name)
    n_pol = len(policies) + 1
    pods = [SimulatedPods(startup=cfg.startup) for _ in range(n_pol)]
    states = [PolicyState() for _ in policies]
    for p in pods:
        p.scale_to(cfg.min_replicas, -cfg.startup)
    under = np.zeros((n_pol, n))
    dropped = np.zeros((n_pol, n))
    pod_s = np.zeros((n_pol, n))
    events = np.zeros((n_pol, n), dtype=np.int64)
    by_fc = np.zeros((n_pol, n), dtype=np.int64)
    ready = np.zeros((n_pol, n))
    modes: list[GateDecision | None] = [None] * n
    gated_pred = np.full(n, np.nan)
    last: CapacityDecision | None = None
    for k in range(n):
        now = k * cfg.step
        if k > 0:
            suite.learn_one(float(demand[k - 1]))
            for m_i, m in enumerate(models):
                fc = m.forecast(max(HORIZONS))
                for h_i, h in enumerate(HORIZONS):
                    if k - 1 + h < n:
                        preds[m_i, h_i, k - 1 + h] = fc[h - 1]
        uppers: dict[float, float] = {}
        for q in {cfg.quantile_a, cfg.quantile_b}:
            lo, hi = model.interval(lead, q) if k > 0 else (np.full(lead, np.nan),) * 2
            uppers[q] = float(hi[-1])
            if q == cfg.quantile_a and k - 1 + lead < n:
                band_lo[k - 1 + lead], band_hi[k - 1 + lead] = lo[-1], hi[-1]
        observed = demand[k - 1] if k > 0 else 0.0
        for i in range(n_pol):
            cur = len(pods[i])
            if i < len(policies):
                obs = Observation(
                    demand=float(observed),
                    current_replicas=cur,
                    ready_replicas=pods[i].ready(now),
                    capacity_per_replica=cfg.capacity,
                )
                pq = policies[i][2]
                upper = uppers[pq] if pq is not None and k > 0 else None
                d, states[i] = decide(specs[i], states[i], obs, now=now, forecast_upper=upper)
                desired, from_fc = d.desired, d.desired > d.reactive
                if i == 1:
                    last = d
            else:
                sample = DemandSample(
                    key=gkey,
                    demand=float(observed) if k > 0 else math.nan,
                    current_replicas=cur,
                    ready_replicas=pods[i].ready(now),
                )
                [sig] = gated.update([sample], now=now)
                desired = sig.desired_replicas
                if k > 0 and k - 1 + lead < n:
                    gated_pred[k - 1 + lead] = sig.predicted
                verdict = modes[k] = gated.decisions.get(gkey)
                from_fc = verdict is not None and verdict.mode is GateMode.ACTIVE
            if desired != cur:
                events[i, k] = 1
            by_fc[i, k] = from_fc
            pods[i].scale_to(desired, now)
            under[i, k], dropped[i, k] = pods[i].serve(
                float(demand[k]), now, now + cfg.step, cfg.capacity
            )
            pod_s[i, k] = len(pods[i]) * cfg.step
            ready[i, k] = pods[i].ready(now + cfg.step / 2)
    w = min(cfg.warmup, n // 2)
    total = float(np.sum(demand[w:]) * cfg.step)
    scored = [g for g in modes[w:] if g is not None]
    reasons: dict[str, int] = {}
    for g in scored:
        reasons[g.reason.value] = reasons.get(g.reason.value, 0) + 1
    rows = [*policies, (SHIPPED, shipped.target_utilization, shipped.quantile)]
    results = tuple(
        PolicyResult(
            name=name,
            target=t,
            quantile=q,
            under_share=float(np.sum(under[i, w:]) / ((n - w) * cfg.step)),
            dropped=float(np.sum(dropped[i, w:])),
            dropped_share=float(np.sum(dropped[i, w:]) / total) if total else 0.0,
            replica_hours=float(np.sum(pod_s[i, w:]) / 3600.0),
            scale_events=int(np.sum(events[i, w:])),
            forecast_decisions=int(np.sum(by_fc[i, w:])),
            ready=ready[i],
            shipped=name == SHIPPED,
            in_control=float(np.mean(by_fc[i, w:])) if name == SHIPPED else None,
            handovers=sum(g.changed for g in scored) if name == SHIPPED else 0,
        )
        for i, (name, t, q) in enumerate(rows)
    )
    daily = max(2, round(86400.0 / trace.native_step))
    costs = (
        update_costs(raw, trace.native_step, models)
        if cfg.measure_cost
        else [(float("nan"), float("nan"))] * len(models)
    )
    acc = []
    for m_i, m in enumerate(models):
        acc.append(
            ModelAccuracy(
                name=_label(m),
                mase=tuple(
                    mase(demand[w:], preds[m_i, h_i, w:], demand[w:], season=daily)
                    for h_i in range(len(HORIZONS))
                ),
                smape=tuple(smape(demand[w:], preds[m_i, h_i, w:]) for h_i in range(len(HORIZONS))),
                us_per_point=costs[m_i][0],
                us_per_point_vectorized=costs[m_i][1],
            )
        )
    cov_ok = np.isfinite(band_hi[w:])
    coverage = float(np.mean(demand[w:][cov_ok] <= band_hi[w:][cov_ok])) if cov_ok.any() else 0.0
    scaling = (
        f"value / {peak:g} x {cfg.peak_rps:g} req/s (peak {cfg.peak_rps:g} req/s); one "
        f"{trace.native_step:g} s trace point per {cfg.step:g} s control step; pods serve "
        f"{cfg.capacity:g} req/s each, ready {cfg.startup:g} s after creation; "
        f"scored after {w} warm-up steps"
    )
    return BenchResult(
        trace=trace.name,
        config=cfg,
        scaling=scaling,
        steps=n,
        scored_steps=n - w,
        policies=results,
        accuracy=tuple(acc),
        coverage=coverage,
        chosen=", ".join(suite.chosen()) if model is suite else _label(model),
        demand=demand,
        band=(band_lo, band_hi),
        last_decision_reasons=last.reasons if last is not None else (),
        gated_model=shipped.model,
        gated_mase=mase(demand[w:], gated_pred[w:], demand[w:], season=daily),
        last_gate=scored[-1].detail if scored else "",
        gate_reasons=tuple(sorted(reasons.items(), key=lambda kv: -kv[1])),
    )


def driver(suite: AutoSelect, name: str, native_step: float) -> VectorForecaster:
    """The model of ``suite`` called ``name`` (a catalog name), or the selector itself."""
    if name == "auto":
        return suite
    for m in suite.candidates:
        if _kind(m, native_step) == name:
            return m
    raise ValueError(f"unknown model {name!r}; choose from {sorted(FORECASTERS)}")


def update_costs(
    raw: FloatArray, native_step: float, models: Sequence[VectorForecaster]
) -> list[tuple[float, float]]:
    """Microseconds per point per series: one series alone, and 64 series vectorized."""
    sl = raw[: min(len(raw), 2000)]
    out = []
    for m in models:
        kind = _kind(m, native_step)
        row = []
        for n_series in (1, 64):
            f = make_forecaster(kind, step=native_step, n_series=n_series)
            ys = np.tile(sl[:, None], (1, n_series))
            t0 = time.perf_counter()
            for y in ys:
                f.learn_many(y)
            row.append((time.perf_counter() - t0) / (len(sl) * n_series) * 1e6)
        out.append((row[0], row[1]))
    return out


def _kind(m: VectorForecaster, native_step: float) -> str:
    cfg = m.config()
    if m.name == "seasonal_naive":
        daily = periods(native_step)[0]
        return "seasonal_naive_daily" if cfg["period"] == daily else "seasonal_naive_weekly"
    if m.name == "holt_winters":
        return f"holt_winters_{cfg['seasonal']}"
    if m.name == "multi_seasonal" and cfg["alpha"] >= 0.3:
        return "multi_seasonal_fast"
    assert m.name in FORECASTERS
    return m.name


def _label(m: VectorForecaster) -> str:
    cfg = m.config()
    if m.name == "seasonal_naive":
        return f"seasonal naive ({cfg['period']})"
    if m.name == "holt_winters":
        return f"Holt-Winters {cfg['seasonal']} ({cfg['period']})"
    if m.name == "multi_seasonal":
        return "multi-seasonal" + (" fast" if cfg["alpha"] >= 0.3 else "")
    return {"auto": "auto (selected)"}.get(m.name, m.name)
