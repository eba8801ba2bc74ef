"""``aiops models ...``: list, show, register, promote, roll back, benchmark and gate versions."""

from __future__ import annotations

import getpass
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from aiops.cli.app import models_app
from aiops.config import Config, load_config
from aiops.errors import ConfigError, ConfigErrors
from aiops.models.events import ModelEvent
from aiops.models.promotion import CheckCode, RecordedBenchmarks, VerdictCode, evaluate
from aiops.models.registry import ModelRegistry, RegistryError
from aiops.models.runtime import registry_at, sections
from aiops.models.versions import ModelKind, ModelVersion, code_version

out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)
DEFAULT_CONFIG = Path("config/aiops.yaml")
ConfigOpt = Annotated[
    Path, typer.Option("--config", "-c", help="Configuration file (its state_dir holds the "
                       "registry).", show_default=True)
]
ByOpt = Annotated[str | None, typer.Option("--by", help="Who (default: the login name).")]
WhyOpt = Annotated[str, typer.Option("--why", help="Why; recorded with the event.")]


def _fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _config(path: Path) -> Config:
    try:
        return load_config(path)
    except (ConfigError, ConfigErrors) as exc:
        lines = [e.render() for e in exc.errors] if isinstance(exc, ConfigErrors) else [str(exc)]
        _fail("; ".join(lines))


def _registry(path: Path) -> tuple[Config, ModelRegistry]:
    cfg = _config(path)
    return cfg, registry_at(cfg.resolve(cfg.state_dir))


def _when(t: float | None) -> str:
    if t is None:
        return "-"
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _who(by: str | None) -> str:
    if by:
        return by
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"


def _event(e: ModelEvent) -> str:
    prev = f" (was {e.previous})" if e.previous else ""
    return f"{_when(e.t)} {e.action.value} {e.version}{prev} by {e.by}: {e.why}"


@models_app.command("list")
def list_versions(
    config: ConfigOpt = DEFAULT_CONFIG,
    kind: Annotated[ModelKind | None, typer.Option(help="Only this kind.")] = None,
) -> None:
    """Every registered version: live marker, parent, trained-on window, state, metrics."""
    _, reg = _registry(config)
    try:
        versions = reg.versions(kind)
        live = {k: (v.id if (v := reg.live(k)) else None) for k in ModelKind}
    except RegistryError as exc:
        _fail(str(exc))
    t = Table(title=f"model versions in {reg.root}")
    for col in ("version", "kind", "live", "parent", "created", "trained on", "state", "metrics"):
        t.add_column(col)
    for v in versions:
        trained = (f"{_when(v.trained_on[0])} .. {_when(v.trained_on[1])}"
                   if v.trained_on else "-")
        t.add_row(v.id, v.kind.value, "yes" if live[v.kind] == v.id else "", v.parent or "-",
                  _when(v.created), trained,
                  f"{v.state_bytes:,} B" if v.state_digest else "none", str(len(v.metrics)))
    out.print(t)


@models_app.command("show")
def show(
    version: Annotated[str, typer.Argument(help="Version id (or a unique prefix).")],
    config: ConfigOpt = DEFAULT_CONFIG,
    as_json: Annotated[bool, typer.Option("--json", help="The record as JSON.")] = False,
) -> None:
    """One version: its record, configuration, metrics and history."""
    _, reg = _registry(config)
    try:
        v = reg.get(version)
        live = reg.live(v.kind)
    except RegistryError as exc:
        _fail(str(exc))
    events = [e for e in reg.history(v.kind) if v.id in (e.version, e.previous)]
    if as_json:
        out.print_json(json.dumps({**v.to_json(), "live": live is not None and live.id == v.id,
                                   "history": [e.to_json() for e in events]}))
        return
    marker = " [green]live[/green]" if live is not None and live.id == v.id else ""
    out.print(f"[bold]{v.id}[/bold] ({v.kind.value}){marker}")
    out.print(f"code {v.code_version}; parent {v.parent or '-'}; created {_when(v.created)}")
    state = f"{v.state_bytes:,} bytes, sha256 {v.state_digest}" if v.state_digest else "none"
    out.print(f"state: {state}; checkpointed {_when(v.checkpointed)}", soft_wrap=True)
    for name, value in sorted(v.metrics.items()):
        out.print(f"  {name} = {value:.6g}", highlight=False)
    out.print("configuration: " + json.dumps(v.config, sort_keys=True), soft_wrap=True,
              highlight=False)
    for e in events:
        out.print("  " + _event(e), highlight=False, soft_wrap=True)


@models_app.command("register")
def register(config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """Register the versions a configuration file describes (no state; for CI and bench)."""
    cfg, reg = _registry(config)
    now = time.time()
    for kind, section in sections(cfg).items():
        live = reg.live(kind)
        v = reg.register(kind, section, code=code_version(kind), now=now,
                         parent=live.id if live else None, by=_who(None),
                         why=f"registered from {config}")
        out.print(f"{kind.value}: {v.id}", highlight=False)


@models_app.command("promote")
def promote(
    version: Annotated[str, typer.Argument(help="Version id (or a unique prefix).")],
    why: WhyOpt,
    config: ConfigOpt = DEFAULT_CONFIG,
    by: ByOpt = None,
) -> None:
    """Make a version live (the daemon runs it, with its state, from its next start)."""
    _, reg = _registry(config)
    try:
        event = reg.promote(version, by=_who(by), why=why, now=time.time())
    except RegistryError as exc:
        _fail(str(exc))
    out.print(_event(event), highlight=False)


@models_app.command("rollback")
def rollback(
    kind: Annotated[ModelKind, typer.Argument(help="detector or forecaster.")],
    why: WhyOpt,
    config: ConfigOpt = DEFAULT_CONFIG,
    by: ByOpt = None,
    to: Annotated[str | None, typer.Option(help="This version instead of the previous.")] = None,
) -> None:
    """Make the version live before the current one live again, with the state it had."""
    _, reg = _registry(config)
    try:
        event = reg.rollback(kind, by=_who(by), why=why, now=time.time(), to=to)
    except RegistryError as exc:
        _fail(str(exc))
    out.print(_event(event), highlight=False)


@models_app.command("bench")
def bench(
    version: Annotated[str, typer.Argument(help="Version id (or a unique prefix).")],
    config: ConfigOpt = DEFAULT_CONFIG,
    trace: Annotated[
        list[Path] | None,
        typer.Option("--trace", help="Forecaster: demand trace CSV for the autoscale bench "
                     "(repeatable).", exists=True),
    ] = None,
    nab: Annotated[
        Path | None, typer.Option("--nab", help="Detector: NAB directory to score on.")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Replay only the first N points.")] = None,
) -> None:
    """Run the benchmarks for a version and record their metrics on it."""
    _, reg = _registry(config)
    try:
        v = reg.get(version)
    except RegistryError as exc:
        _fail(str(exc))
    metrics = _bench_forecaster(v, trace or [], limit) if v.kind is ModelKind.FORECASTER \
        else _bench_detector(v, nab)
    if not metrics:
        _fail("nothing to run: give --trace (forecaster) or --nab (detector)")
    reg.record_metrics(v.id, metrics)
    for name, value in sorted(metrics.items()):
        out.print(f"{v.id}: {name} = {value:.6g}", highlight=False)


def _bench_forecaster(v: ModelVersion, traces: list[Path], limit: int | None) -> dict[str, float]:
    from aiops.bench.autoscale import SHIPPED, BenchConfig, run
    from aiops.bench.traces import load_trace

    metrics: dict[str, float] = {}
    for path in traces:
        try:
            loaded = load_trace(path)
        except ValueError as exc:
            _fail(str(exc))
        cfg = BenchConfig(forecast=dict(v.config), limit=limit, measure_cost=False)
        r = run(loaded, cfg)
        name = f"autoscale/{loaded.name}"
        metrics[f"{name}/under_vs_hpa"] = r.ratio(SHIPPED, "under_share")
        metrics[f"{name}/replica_hours_vs_hpa"] = r.ratio(SHIPPED, "replica_hours")
        if r.gated_mase is not None:
            metrics[f"{name}/mase"] = r.gated_mase
    return metrics


def _bench_detector(v: ModelVersion, nab: Path | None) -> dict[str, float]:
    if nab is None:
        return {}
    from aiops.bench import nab as nab_bench
    from aiops.config.detect import DetectConfig

    if not (nab / "combined_windows.json").is_file():
        _fail(f"no NAB data at {nab}")
    results = nab_bench.evaluate(nab, DetectConfig.model_validate(dict(v.config)))
    # Profiles are standard, reward_low_FP_rate, reward_low_FN_rate in NAB's files.
    return {f"nab/{r.profile.lower().removesuffix('_rate')}": r.normalized for r in results}


@models_app.command("gate")
def gate(
    candidate: Annotated[str, typer.Argument(help="Candidate version id (or prefix).")],
    config: ConfigOpt = DEFAULT_CONFIG,
    live: Annotated[
        str | None, typer.Option(help="Compare with this version (default: the live one).")
    ] = None,
) -> None:
    """Exit 1 if the candidate is worse than live on the recorded benchmarks (2: unmeasured)."""
    _, reg = _registry(config)
    try:
        cand = reg.get(candidate)
        base = reg.get(live) if live else reg.live(cand.kind)
    except RegistryError as exc:
        _fail(str(exc))
    if base is None:
        _fail(f"no live {cand.kind.value} to compare with (use --live)")
    verdict = evaluate(cand, base, [RecordedBenchmarks()])
    t = Table(title=f"{cand.id} against {base.id}")
    for col in ("metric", "candidate", "live", "verdict"):
        t.add_column(col)
    style = {CheckCode.WORSE: "red", CheckCode.BETTER: "green"}
    for c in verdict.checks:
        t.add_row(c.name, "-" if c.candidate is None else f"{c.candidate:.6g}",
                  "-" if c.live is None else f"{c.live:.6g}", c.code.value,
                  style=style.get(c.code))
    out.print(t)
    out.print(f"gate: {verdict.code.value}", highlight=False)
    if not verdict.passed:
        raise typer.Exit(1 if verdict.code is VerdictCode.WORSE else 2)

