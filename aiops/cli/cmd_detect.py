"""``aiops detect FILE.csv`` and ``aiops bench nab | throughput``: detection from the shell.

``detect`` streams a ``timestamp,value`` CSV through the configured detector and writes
NAB's results format (``timestamp,value,anomaly_score``), one row per input row in the
same order. ``bench nab`` scores the detector with NAB's rules beside the published
scoreboard; ``bench throughput`` measures points/s against river's HalfSpaceTrees.
"""

from __future__ import annotations

import csv
import io
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TextIO

import numpy as np
import typer
import yaml
from pydantic import ValidationError
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from aiops.bench import nab as nab_bench
from aiops.bench import throughput as tp_bench
from aiops.cli.app import app, bench_app
from aiops.config import load_config
from aiops.config.detect import PRESETS, DetectConfig, preset
from aiops.detect.bank import DetectorBank
from aiops.errors import AiopsError, ConfigError, ConfigErrors

err = Console(stderr=True)
PresetOpt = Annotated[
    str,
    typer.Option("--preset", "-p", help=f"Detector settings: {', '.join(PRESETS)}."),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Take the detect section of this aiops.yaml instead."),
]


def _detect_config(config: Path | None, name: str) -> DetectConfig:
    try:
        if config is not None:
            return load_config(config).detect
        return preset(name)
    except (ConfigError, ConfigErrors, KeyError) as exc:
        msg = str(exc) if isinstance(exc, AiopsError) else f"unknown preset {name!r}"
        err.print(f"[red]error:[/red] {msg}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


def _parse_time(text: str) -> float:
    """Unix seconds of a timestamp (ISO 8601, naive = UTC) or a plain number; NaN if neither."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(text.strip())
    except ValueError:
        return float("nan")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def _read_rows(fh: TextIO) -> Iterator[tuple[str, str]]:
    reader = csv.reader(fh)
    header = next(reader, None)
    if header is None:
        return
    cols = [h.strip().lower() for h in header]
    if "timestamp" not in cols or "value" not in cols:
        raise ValueError("expected a header with columns timestamp,value")
    it, iv = cols.index("timestamp"), cols.index("value")
    for row in reader:
        if not row:
            continue
        yield row[it], row[iv] if iv < len(row) else ""


def _to_float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")


@app.command()
def detect(
    file: Annotated[Path, typer.Argument(help="CSV with columns timestamp,value.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    preset_name: PresetOpt = "default",
    config: ConfigOpt = None,
) -> None:
    """Score a series: writes timestamp,value,anomaly_score, one row per input row."""
    cfg = _detect_config(config, preset_name)
    try:
        with file.open(newline="") as fh:
            rows = list(_read_rows(fh))
    except (OSError, ValueError) as exc:
        err.print(f"[red]error:[/red] {file}: {exc}", highlight=False)
        raise typer.Exit(2) from None
    bank = DetectorBank(cfg)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["timestamp", "value", "anomaly_score"])
    show = sys.stderr.isatty()
    with Progress(console=err, disable=not show, transient=True) as progress:
        task = progress.add_task(f"scoring {file.name}", total=len(rows))
        for i, (ts, raw) in enumerate(rows):
            value = _to_float(raw)
            t = _parse_time(ts)
            score = bank.update_arrays(np.array([value]), t if np.isfinite(t) else 0.0)[0]
            writer.writerow([ts, raw, f"{score if np.isfinite(score) else 0.0:.6f}"])
            if show and i % 1000 == 0:
                progress.update(task, completed=i)
    if output is None:
        sys.stdout.write(out.getvalue())
    else:
        output.write_text(out.getvalue())
    if bank.skipped:
        err.print(f"{bank.skipped} rows without a numeric value were skipped (score 0)")


def _default_nab_dir() -> Path:
    return Path.cwd().parent / "shared" / "data" / "nab"


@bench_app.command("nab")
def bench_nab(
    data: Annotated[
        Path | None,
        typer.Option("--data", "-d", help="NAB directory (default ../shared/data/nab)."),
    ] = None,
    preset_name: PresetOpt = "default",
    config: ConfigOpt = None,
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", "-s", help="Override one detect setting, KEY=VALUE (repeatable)."),
    ] = None,
    sweep: Annotated[
        str | None,
        typer.Option(
            "--sweep",
            help="Score each value of one setting, KEY=V1,V2,... (sensitivity of the preset).",
        ),
    ] = None,
) -> None:
    """NAB scores (standard, reward low FP, reward low FN) beside the published ones."""
    data_dir = data if data is not None else _default_nab_dir()
    if not (data_dir / "combined_windows.json").is_file():
        err.print(f"[red]error:[/red] no NAB data at {data_dir} (use --data)", highlight=False)
        raise typer.Exit(2)
    cfg = _override(_detect_config(config, preset_name), overrides or [])
    if sweep is not None:
        _nab_sweep(data_dir, cfg, sweep)
        return
    start = time.perf_counter()
    results = nab_bench.evaluate(data_dir, cfg)
    elapsed = time.perf_counter() - start
    label = f"aiops ({'config' if config else preset_name})"
    std, low_fp, low_fn = (r.normalized for r in results)
    rows: list[tuple[str, float, float, float]] = [(label, std, low_fp, low_fn)]
    rows += list(nab_bench.PUBLISHED)
    rows.sort(key=lambda r: -r[1])
    table = Table(title=f"NAB v1.1 scores, {data_dir} ({elapsed:.0f}s)")
    for col in ("detector", "standard", "reward low FP", "reward low FN"):
        table.add_column(col, justify="left" if col == "detector" else "right")
    for name, *scores in rows:
        style = "bold green" if name == label else None
        table.add_row(name, *(f"{s:.1f}" for s in scores), style=style)
    Console().print(table)
    for r in results:
        Console().print(
            f"{r.profile}: threshold {r.threshold:.3f}, windows found {r.tp}/{r.tp + r.fn}, "
            f"false positives {r.fp}", highlight=False,
        )


def _split(item: str, what: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        err.print(f"[red]error:[/red] {what} {item!r}: expected KEY=VALUE", highlight=False)
        raise typer.Exit(2)
    return key.strip(), value.strip()


def _override(cfg: DetectConfig, items: list[str]) -> DetectConfig:
    """``cfg`` with KEY=VALUE settings applied (values read as YAML scalars), validated."""
    if not items:
        return cfg
    data = cfg.model_dump()
    for item in items:
        key, value = _split(item, "--set")
        if key not in DetectConfig.model_fields:
            err.print(f"[red]error:[/red] --set {key}: not a detect setting", highlight=False)
            raise typer.Exit(2)
        data[key] = yaml.safe_load(value)
    try:
        return DetectConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        err.print(f"[red]error:[/red] --set {where}: {first['msg']}", highlight=False)
        raise typer.Exit(2) from None


def _nab_sweep(data_dir: Path, cfg: DetectConfig, spec: str) -> None:
    """One NAB run per value of one setting: how sharp is the optimum?"""
    key, values = _split(spec, "--sweep")
    settings = [_override(cfg, [f"{key}={v}"]) for v in values.split(",") if v.strip()]
    table = Table(title=f"NAB sensitivity to {key}, {data_dir}")
    for col in (key, "standard", "reward low FP", "reward low FN", "windows", "FP"):
        table.add_column(col, justify="right")
    with Progress(console=err, transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task(f"sweeping {key}", total=len(settings))
        for s in settings:
            std, low_fp, low_fn = nab_bench.evaluate(data_dir, s)
            table.add_row(
                str(getattr(s, key)), f"{std.normalized:.1f}", f"{low_fp.normalized:.1f}",
                f"{low_fn.normalized:.1f}", f"{std.tp}/{std.tp + std.fn}", str(std.fp),
            )
            progress.advance(task)
    Console().print(table)


@bench_app.command("throughput")
def bench_throughput(
    preset_name: PresetOpt = "default",
    config: ConfigOpt = None,
) -> None:
    """Bank points/s at 10, 1,000 and 100,000 series against river HalfSpaceTrees."""
    cfg = _detect_config(config, preset_name)
    report = tp_bench.run(config=cfg)
    table = Table(title="Detector throughput (one process, one core)")
    for col in ("detector", "series", "points", "points/s", "x river"):
        table.add_column(col, justify="left" if col == "detector" else "right")
    river = report.river.per_second
    for r in (*report.bank, *report.samples, report.river):
        table.add_row(r.name, f"{r.series:,}", f"{r.points:,}", f"{r.per_second:,.0f}",
                      f"{r.per_second / river:,.1f}")
    console = Console()
    console.print(table)
    m = report.memory
    console.print(
        f"peak memory {m.peak_per_series:,.0f} B/series ({m.series:,} series, tracemalloc); "
        f"state after {m.short_steps:,} steps {m.retained_short:,} B, after "
        f"{m.long_steps:,} steps {m.retained_long:,} B "
        f"({'flat' if m.retained_long <= m.retained_short else 'GROWING'})",
        highlight=False,
    )
