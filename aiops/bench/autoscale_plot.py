"""The autoscale bench as a picture: the whole trace on its own clock, and its worst day.

``aiops bench autoscale --png FILE`` draws two panels (matplotlib, no display needed):

* **the whole trace**, time on the axis from the trace's own timestamps (each trace point
  was one control step of the replay): demand, and the ready capacity of the HPA and of
  the shipped gated policy; the steps where each could not serve the demand are marked in
  its colour in a strip below the curves (a step is too thin to shade at this scale), and
  the warm-up before scoring is greyed out;
* **the worst day** (the scored calendar day of the trace on which the HPA dropped the
  most requests, or the shipped policy when the HPA dropped none): every policy's ready
  capacity, the forecast band, and the under-provisioning shaded between capacity and
  demand.

Legends sit below the panels, never over the curves.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from aiops.bench.autoscale import SHIPPED, BenchResult, PolicyResult

COLOURS = {"hpa": "tab:red", "predictive A": "tab:green", "predictive B": "tab:purple",
           SHIPPED: "tab:orange"}
DAY = 86400.0


def times(r: BenchResult) -> NDArray[np.datetime64]:
    """Each step's time on the trace's clock (its timestamps as written, naive)."""
    first = np.datetime64(datetime.fromtimestamp(r.start).replace(microsecond=0), "s")
    return first + (np.arange(len(r.demand)) * r.native_step).astype("timedelta64[s]")


def worst_day(r: BenchResult) -> tuple[int, int]:
    """``[lo, hi)`` steps of the scored calendar day with the most requests dropped."""
    t = times(r)
    days = t.astype("datetime64[D]")
    w = len(r.demand) - r.scored_steps
    hpa = r.policies[0]
    shipped = next((p for p in r.policies if p.shipped), hpa)
    lost = hpa.dropped_steps if hpa.dropped_steps[w:].sum() > 0 else shipped.dropped_steps
    scored_days = np.unique(days[w:])
    if not len(scored_days):
        return 0, len(r.demand)
    totals = [float(lost[w:][days[w:] == d].sum()) for d in scored_days]
    day = scored_days[int(np.argmax(totals))]
    idx = np.flatnonzero(days == day)
    return int(idx[0]), int(idx[-1]) + 1


def draw(r: BenchResult, path: Path) -> None:
    """Write the PNG of replay ``r`` to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    t = times(r)
    cap = r.config.capacity
    w = len(r.demand) - r.scored_steps
    lo, hi = worst_day(r)
    hpa = r.policies[0]
    shipped = next(p for p in r.policies if p.shipped)
    fig, (top, zoom) = plt.subplots(2, 1, figsize=(15, 9), height_ratios=(1, 1.2))

    top.plot(t, r.demand, color="black", lw=0.4, label="demand (req/s)")
    peak = float(np.nanmax(r.demand))
    for row, p in enumerate((hpa, shipped)):
        top.plot(t, p.ready * cap, color=COLOURS[p.name], lw=0.4, alpha=0.8,
                 label=f"ready capacity: {p.name}")
        # At this scale a step is a hair: mark under-provisioned steps in a strip below.
        lo_y, hi_y = -0.05 * peak * (row + 1), -0.05 * peak * row
        top.fill_between(t, lo_y, hi_y, where=p.under_steps > 0, color=COLOURS[p.name],
                         lw=0, step="mid", label=f"under-provisioned: {p.name} (strip)")
    if w > 0:
        top.axvspan(t[0], t[w - 1], color="0.85", zorder=0, label="warm-up (not scored)")
    top.axvspan(t[lo], t[hi - 1], color="tab:blue", alpha=0.08, zorder=0,
                label="zoomed day (below)")
    top.set_title(f"{r.trace}: {len(r.demand):,} steps, the whole trace "
                  f"(one {r.native_step / 60:g}-minute trace point per {r.config.step:g} s "
                  "control step)")
    top.set_ylabel("requests/s")
    top.set_ylim(-0.1 * peak * 1.05, 1.5 * peak)  # a start-up spike must not flatten the rest
    top.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=6, fontsize=8,
               frameon=False)
    top.xaxis.set_major_formatter(
        mdates.ConciseDateFormatter(top.xaxis.get_major_locator()))  # type: ignore[no-untyped-call]

    x = t[lo:hi]
    zoom.fill_between(x, r.band[0][lo:hi], r.band[1][lo:hi], color="tab:blue", alpha=0.15,
                      label=f"forecast band (A, q={r.config.quantile_a:g})")
    zoom.plot(x, r.demand[lo:hi], color="black", lw=1.2, label="demand (req/s)")
    for p in r.policies:
        zoom.step(x, p.ready[lo:hi] * cap, where="mid", color=COLOURS.get(p.name, "gray"),
                  lw=1.6 if p.shipped or p is hpa else 0.9, label=f"ready capacity: {p.name}")
    for p in (hpa, shipped):
        _shade(zoom, x, r.demand[lo:hi], p, cap, sl=slice(lo, hi), alpha=0.35)
    short = {p.name: (float(p.under_steps[lo:hi].sum()) / 60, float(p.dropped_steps[lo:hi].sum()))
             for p in (hpa, shipped)}
    who = "the HPA" if hpa.dropped_steps[len(r.demand) - r.scored_steps:].sum() > 0 else SHIPPED
    zoom.set_title(f"worst day: {t[lo].astype('datetime64[D]')!s} (most requests dropped by "
                   f"{who}); shaded: demand above ready capacity (HPA {short['hpa'][0]:.0f} "
                   f"min short, {short['hpa'][1]:,.0f} dropped; shipped "
                   f"{short[SHIPPED][0]:.0f} min, {short[SHIPPED][1]:,.0f})")
    zoom.set_ylabel("requests/s")
    zoom.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))  # type: ignore[no-untyped-call]
    zoom.set_xlabel("trace time")
    zoom.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=4, fontsize=8,
                frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _shade(ax: Any, x: NDArray[np.datetime64], demand: NDArray[np.float64],
           p: PolicyResult, cap: float, *, sl: slice | None = None, alpha: float) -> None:
    """Shade, in the policy's colour, between its ready capacity and the demand it missed."""
    ready = (p.ready if sl is None else p.ready[sl]) * cap
    under = p.under_steps if sl is None else p.under_steps[sl]
    ax.fill_between(x, ready, np.maximum(demand, ready), where=under > 0, step="mid", lw=0,
                    color=COLOURS.get(p.name, "gray"), alpha=alpha,
                    label=f"under-provisioned: {p.name}")
