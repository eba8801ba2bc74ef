"""``aiops bench autoscale``: the HPA, predictive A and B, and the shipped gated policy."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from aiops.bench.autoscale import HORIZONS, SHIPPED, BenchConfig, BenchResult, run
from aiops.bench.traces import load_trace
from aiops.cli.app import bench_app

out = Console(width=None if sys.stdout.isatty() else 150)


@bench_app.command("autoscale")
def autoscale(
    trace: Annotated[Path, typer.Option("--trace", help="CSV of timestamp,value.", exists=True)],
    step: Annotated[
        float, typer.Option(help="Control step, seconds (one trace point each).")
    ] = 60.0,
    startup: Annotated[float, typer.Option(help="Pod start-up time, seconds.")] = 90.0,
    target: Annotated[float, typer.Option(help="HPA target utilization (and point A's).")] = 0.7,
    quantile: Annotated[float, typer.Option(help="Point A: forecast quantile provisioned.")] = 0.8,
    forecast_target: Annotated[
        float | None,
        typer.Option(help="Point A: utilization the forecast term is sized to (default target)."),
    ] = 0.85,
    target_b: Annotated[float, typer.Option(help="Point B: reactive target utilization.")] = 0.95,
    quantile_b: Annotated[float, typer.Option(help="Point B: forecast quantile.")] = 0.7,
    forecast_target_b: Annotated[
        float | None, typer.Option(help="Point B: utilization the forecast term is sized to.")
    ] = 0.85,
    window_b: Annotated[float, typer.Option(help="Point B: scale-down window, seconds.")] = 120.0,
    capacity: Annotated[float, typer.Option(help="Requests/s one pod serves.")] = 100.0,
    peak: Annotated[float, typer.Option(help="Trace peak scaled to this many req/s.")] = 2000.0,
    model: Annotated[
        str, typer.Option(help="Forecaster driving the policies (aiops.forecast.catalog).")
    ] = "multi_seasonal_fast",
    warmup: Annotated[int, typer.Option(help="Steps learnt before scoring.")] = 672,
    limit: Annotated[int | None, typer.Option(help="Replay only the first N points.")] = None,
    gated_model: Annotated[
        str | None,
        typer.Option(help="Forecaster of the shipped gated policy (default: the config's)."),
    ] = None,
    png: Annotated[Path | None, typer.Option(help="Draw demand, band and capacity here.")] = None,
) -> None:
    """Replay a trace under the HPA, predictive A and B, and the shipped gated policy."""
    cfg = BenchConfig(
        step=step,
        startup=startup,
        target=target,
        quantile_a=quantile,
        forecast_target_a=forecast_target,
        target_b=target_b,
        quantile_b=quantile_b,
        forecast_target_b=forecast_target_b,
        window_b=window_b,
        capacity=capacity,
        peak_rps=peak,
        model=model,
        warmup=warmup,
        limit=limit,
        gated_model=gated_model,
    )
    try:
        loaded = load_trace(trace)
    except ValueError as exc:
        out.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    result = run(loaded, cfg)
    render(result)
    if png is not None:
        draw(result, png)
        out.print(f"wrote {png}")


def _pct(x: float) -> str:
    return f"{x:.4%}"


def _ratio(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:.3f}"


def render(r: BenchResult) -> None:
    """Print the policy and accuracy tables of one replay."""
    out.print(f"[bold]{r.trace}[/bold]: {r.steps} steps, {r.scored_steps} scored")
    out.print(f"scaling: {r.scaling}", soft_wrap=True)
    t = Table(title=f"autoscaling on {r.trace}")
    for col in (
        "policy",
        "target",
        "quantile",
        "under-provisioned",
        "dropped requests",
        "replica-hours",
        "events",
        "under/HPA",
        "rep-h/HPA",
    ):
        t.add_column(col, justify="right" if col != "policy" else "left")
    for p in r.policies:
        ft = ""
        fts = {
            "predictive A": r.config.forecast_target_a,
            "predictive B": r.config.forecast_target_b,
        }
        if fts.get(p.name) is not None:
            ft = f" (forecast {fts[p.name]:.0%})"
        if p.name == "predictive B" and r.config.window_b != 300.0:
            ft += f" window {r.config.window_b:g}s"
        if p.shipped and p.in_control is not None:
            ft += f" (forecast in control {p.in_control:.0%})"
        t.add_row(
            f"[bold]{p.name}[/bold]" if p.shipped else p.name,
            f"{p.target:.0%}{ft}",
            "-" if p.quantile is None else f"{p.quantile:g}",
            _pct(p.under_share),
            f"{p.dropped:,.0f} ({p.dropped_share:.4%})",
            f"{p.replica_hours:,.1f}",
            str(p.scale_events),
            _ratio(r.ratio(p.name, "under_share")),
            _ratio(r.ratio(p.name, "replica_hours")),
        )
    out.print(t)
    for name, rule in (
        ("predictive A", "under <= 0.05 x HPA at replica-hours <= 1.05 x HPA"),
        ("predictive B", "replica-hours <= 0.85 x HPA at under <= 1.00 x HPA"),
    ):
        u, h = r.ratio(name, "under_share"), r.ratio(name, "replica_hours")
        base_u = r.policies[0].under_share
        if name == "predictive A":
            ok = (u <= 0.05 if base_u > 0 else True) and h <= 1.05
        else:
            under = next(p for p in r.policies if p.name == name).under_share
            ok = under <= base_u and h <= 0.85
        verdict = "[green]met[/green]" if ok else "[red]not met[/red]"
        out.print(f"{name} (reference): under x{_ratio(u)}, replica-hours x{_ratio(h)} "
                  f"({rule}): {verdict}")
    hpa = r.policies[0]
    for p in (p for p in r.policies if p.shipped):
        never_worse = p.under_share <= hpa.under_share
        verdict = "[green]met[/green]" if never_worse else "[red]not met[/red]"
        out.print(
            f"{p.name}: under x{_ratio(r.ratio(p.name, 'under_share'))}, replica-hours "
            f"x{_ratio(r.ratio(p.name, 'replica_hours'))}; never worse than the HPA on "
            f"under-provisioned time: {verdict}; forecaster {r.gated_model}, forecast in "
            f"control {p.in_control or 0.0:.1%} of scored steps, {p.handovers} hand-overs"
        )
    if r.gate_reasons:
        out.print("gate reasons (scored steps): " + ", ".join(
            f"{code} {count}" for code, count in r.gate_reasons))
    if r.last_gate:
        out.print(f"last gate verdict: {r.last_gate}", soft_wrap=True)
    a = Table(title=f"forecast accuracy on {r.trace} (MASE scale: daily seasonal naive MAE)")
    a.add_column("model")
    for h in HORIZONS:
        a.add_column(f"MASE h={h}", justify="right")
    for h in HORIZONS:
        a.add_column(f"sMAPE h={h}", justify="right")
    a.add_column("h=10 vs s-naive", justify="right")
    a.add_column("µs/pt (1)", justify="right")
    a.add_column("µs/pt/series (64)", justify="right")
    base = next((m for m in r.accuracy if m.name.startswith("seasonal naive")), None)
    for m in r.accuracy:
        rel = m.mase[-1] / base.mase[-1] if base is not None and base.mase[-1] else float("nan")
        a.add_row(
            m.name,
            *(f"{v:.3f}" for v in m.mase),
            *(f"{v:.1f}%" for v in m.smape),
            _ratio(rel),
            f"{m.us_per_point:.1f}",
            f"{m.us_per_point_vectorized:.2f}",
        )
    out.print(a)
    out.print(
        f"driving model: {r.config.model} ({r.chosen}); "
        f"{r.config.quantile_a:g} upper band covered {r.coverage:.1%} of points"
    )
    if r.last_decision_reasons:
        out.print("last predictive decision: " + "; ".join(r.last_decision_reasons), soft_wrap=True)


def draw(r: BenchResult, path: Path, *, window: int = 672) -> None:
    """PNG of demand, the forecast band and both policies' ready capacity (last two weeks)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    n = len(r.demand)
    lo = max(0, n - window)
    x = np.arange(lo, n)
    cap = r.config.capacity
    fig, ax = plt.subplots(figsize=(14, 5))
    ax.fill_between(
        x, r.band[0][lo:], r.band[1][lo:], color="tab:blue", alpha=0.2, label="forecast band (A)"
    )
    ax.plot(x, r.demand[lo:], color="black", lw=1, label="demand (req/s)")
    styles = {
        "hpa": "tab:red",
        "predictive A": "tab:green",
        "predictive B": "tab:purple",
        SHIPPED: "tab:orange",
    }
    for p in r.policies:
        ax.step(
            x,
            p.ready[lo:] * cap,
            where="mid",
            color=styles.get(p.name, "gray"),
            lw=1,
            label=f"ready capacity: {p.name}",
        )
    ax.set_xlabel(f"control step ({r.config.step:g} s)")
    ax.set_ylabel("requests/s")
    ax.set_title(f"{r.trace}: demand vs ready capacity")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
