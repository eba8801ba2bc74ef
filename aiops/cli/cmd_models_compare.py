"""``aiops models compare``: the shadow window, candidates against live (from the journal).

Per candidate: agreement, the episodes only one side raised (a candidate's never acted
on, with what it would have done), the candidate's median lead, precision from
operators' feedback, forecast MASE and coverage per workload, and cost per cycle. The
comparisons are also what ``aiops models gate`` judges as shadow evidence.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from aiops.cli.app import models_app
from aiops.cli.clocks import daemon_clock
from aiops.cli.cmd_models import DEFAULT_CONFIG, ConfigOpt, _config, _fail, _when, out
from aiops.config import Config
from aiops.errors import AiopsError
from aiops.models.compare import Comparison, fmt


def comparisons(cfg: Config) -> list[Comparison]:
    """The shadow window's comparisons from the daemon's journal (none without one)."""
    from aiops.engines.shadow_window import read_window
    from aiops.journal.connect import JournalMissing, open_existing
    from aiops.statedir import StateDir

    try:
        journal = open_existing(cfg.journal, StateDir(cfg.resolve(cfg.state_dir)),
                                base_dir=Path(cfg.base_dir))
    except JournalMissing:
        return []
    except AiopsError as exc:
        _fail(str(exc))
    try:
        return read_window(journal).comparisons()
    finally:
        journal.close()


@models_app.command("compare")
def compare_cmd(
    config: ConfigOpt = DEFAULT_CONFIG,
    episodes: Annotated[int, typer.Option(help="Episodes listed per side at most.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Shadow candidates against live: agreement, episodes one side raised, lead time,
    precision from feedback, forecast MASE and coverage, cost per cycle."""
    cfg = _config(config)
    found = comparisons(cfg)
    if as_json:
        out.print_json(json.dumps([_compare_json(c) for c in found], default=str))
        return
    if not found:
        out.print("no shadow candidates recorded: add detect.candidates or "
                  "forecast.candidates to the configuration and run the daemon",
                  highlight=False, soft_wrap=True)
        return
    clock = daemon_clock(cfg)
    out.print(f"times: UTC on the {clock} clock; cost: wall time per cycle", highlight=False)
    for c in found:
        _print_comparison(c, episodes, clock)


def _print_comparison(c: Comparison, limit: int, clock: str) -> None:
    cand, live = c.candidate, c.live
    out.print(f"[bold]{c.kind.value} candidate {cand.model}[/bold] ({cand.version}) against "
              f"live ({live.version})", soft_wrap=True)
    t = Table(box=None, header_style="bold")
    for col in ("", "episodes", "only this side", "precision (judged)", "cost per cycle",
                "cycles"):
        t.add_column(col, justify="left" if not col else "right")
    for f, only in ((live, c.only_live), (cand, c.only_candidate)):
        p = f.precision
        t.add_row(f.model, str(f.episodes), str(len(only)),
                  f"{fmt(p.value, '.2f')} ({p.judged})", f"{fmt(f.cost_per_cycle * 1e3, '.2f')} ms",
                  str(f.cycles))
    out.print(t)
    out.print(f"agreement {fmt(c.agreement, '.2f')} ({c.matched} shared); median lead of the "
              f"candidate {fmt(c.median_lead, '.0f')} s (positive: earlier than live)",
              highlight=False)
    if cand.quality or live.quality:
        q = Table(title="forecast error (MASE at the lead; coverage: share at or below the "
                  "upper band)")
        for col in ("workload", "MASE live", f"MASE {cand.model}", "coverage live",
                    f"coverage {cand.model}"):
            q.add_column(col, justify="left" if col == "workload" else "right")
        for w in sorted(set(cand.quality) | set(live.quality)):
            ml, cl = live.quality.get(w, (float("nan"), float("nan")))
            mc, cc = cand.quality.get(w, (float("nan"), float("nan")))
            q.add_row(w, fmt(ml), fmt(mc), fmt(cl, ".1%"), fmt(cc, ".1%"))
        out.print(q)
    for title, only in ((f"only {cand.model} (never acted on)", c.only_candidate),
                        ("only live", c.only_live)):
        if not only:
            continue
        e = Table(title=title)
        for col in ("series", f"start (UTC, {clock})", f"end (UTC, {clock})", "peak",
                    "would have"):
            e.add_column(col)
        for r in only[:limit]:
            ep = r.episode
            acted = next((d for d in r.decisions if d.decision != "skip"), None)
            would = (f"{acted.decision} {acted.runbook}" if acted else
                     ", ".join(f"{d.runbook}: {d.code}" for d in r.decisions)
                     or "nothing (no runbook matched)")
            e.add_row(ep.series, _when(ep.start), _when(ep.end), f"{ep.peak:.3g}",
                      would if r.model != "live" else "(the engine's incident)")
        out.print(e)
        if len(only) > limit:
            out.print(f"... and {len(only) - limit} more", highlight=False)


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _compare_json(c: Comparison) -> dict[str, Any]:
    def side(f: Any) -> dict[str, Any]:
        return {"model": f.model, "versions": sorted(f.versions), "episodes": f.episodes,
                "cycles": f.cycles, "cost_per_cycle": _finite(f.cost_per_cycle),
                "precision": _finite(f.precision.value), "judged": f.precision.judged,
                "true_positives": f.precision.true, "false_positives": f.precision.false,
                "quality": {w: {"mase": _finite(m), "coverage": _finite(cv)}
                            for w, (m, cv) in f.quality.items()}}

    return {"kind": c.kind.value, "candidate": side(c.candidate), "live": side(c.live),
            "matched": c.matched, "agreement": _finite(c.agreement),
            "median_lead": _finite(c.median_lead),
            "only_candidate": [{**r.episode.to_json(),
                                "decisions": [d.to_json() for d in r.decisions]}
                               for r in c.only_candidate],
            "only_live": [r.episode.to_json() for r in c.only_live]}
