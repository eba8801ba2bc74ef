"""The picture `aiops detect FILE.csv --png out.png` draws: series, band, score, episodes.

Top panel: the series, the detector's expected band, each anomaly episode shaded from
its start to its end (its start, the one report, marked) and, with ``--labels``, NAB's
anomaly windows. Bottom panel: the per-sample score, the reported episode starts and
the level at which an episode opens.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, kw_only=True, slots=True)
class Trace:
    """Everything drawn, one entry per input row (``x`` is the time axis)."""

    name: str
    x: npt.NDArray[np.datetime64] | F64
    value: F64
    expected: F64
    lower: F64
    upper: F64
    score: F64
    onset: F64
    episodes: tuple[tuple[int, int], ...]
    open_level: float
    windows: tuple[tuple[int, int], ...] = ()


def draw(trace: Trace, path: Path) -> None:
    """Write the two-panel PNG of ``trace`` to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = trace.x
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(15, 6.5), sharex=True, gridspec_kw={"height_ratios": [2.2, 1]}
    )
    for k, (lo, hi) in enumerate(trace.windows):
        for ax in (top, bottom):
            ax.axvspan(x[lo], x[hi], color="tab:orange", alpha=0.18, lw=0,
                       label="NAB window" if k == 0 and ax is top else None)
    for k, (lo, hi) in enumerate(trace.episodes):
        top.axvspan(x[lo], x[hi], color="tab:red", alpha=0.12, lw=0,
                    label="anomaly episode" if k == 0 else None)
    top.fill_between(x, trace.lower, trace.upper, color="tab:blue", alpha=0.2, lw=0,
                     label="expected band")
    top.plot(x, trace.value, color="black", lw=0.6, label="value")
    starts = np.flatnonzero(trace.onset > 0)
    top.plot(x[starts], trace.value[starts], "v", color="tab:red", ms=7,
             label="episode start (reported)")
    top.set_title(trace.name)
    top.legend(loc="upper left", fontsize=8, ncols=3)
    bottom.plot(x, trace.score, color="tab:blue", lw=0.6, label="score")
    bottom.plot(x[starts], trace.onset[starts], "v", color="tab:red", ms=6,
                label="reported score")
    bottom.axhline(trace.open_level, color="gray", lw=0.8, ls="--",
                   label=f"episode opens ({trace.open_level:g})")
    bottom.set_ylim(-0.03, 1.05)
    bottom.set_ylabel("score")
    bottom.legend(loc="upper left", fontsize=8, ncols=3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
