"""``aiops detect FILE.csv`` and ``aiops bench nab | throughput``: detection from the shell.

``detect`` streams a ``timestamp,value`` CSV through the configured detector and writes
NAB's results format (``timestamp,value,anomaly_score``: the score where an anomaly
episode starts, as the daemon reports it) plus the per-sample score, band and episode,
one row per input row in the same order; ``--png`` draws it. ``bench nab`` scores the
detector with NAB's rules beside the published scoreboard; ``bench throughput``
measures points/s against river's HalfSpaceTrees.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TextIO

import numpy as np
import numpy.typing as npt
import typer
import yaml
from pydantic import ValidationError
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from aiops.bench import nab as nab_bench
from aiops.bench import throughput as tp_bench
from aiops.cli.app import app, bench_app
from aiops.cli.detect_plot import Trace, draw
from aiops.config import load_config
from aiops.config.detect import PRESETS, DetectConfig, preset
from aiops.detect.bank import DetectorBank
from aiops.detect.episodes import Phase
from aiops.errors import AiopsError, ConfigError, ConfigErrors

err = Console(stderr=True)
F64 = npt.NDArray[np.float64]
PresetOpt = Annotated[
    str,
    typer.Option("--preset", "-p", help=f"Detector settings: {', '.join(PRESETS)}."),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Take the detect section of this aiops.yaml instead."),
]


def detect_config(config: Path | None, name: str) -> DetectConfig:
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


@dataclass
class _Run:
    """Per input row: what the detector said (arrays filled as the file streams)."""

    score: F64
    onset: F64
    expected: F64
    lower: F64
    upper: F64
    phase: npt.NDArray[np.int8]


def _stream(rows: list[tuple[str, str]], cfg: DetectConfig, label: str) -> tuple[_Run, int]:
    """Score every row in order (one series); returns the columns and rows skipped."""
    n = len(rows)
    run = _Run(score=np.zeros(n), onset=np.zeros(n), expected=np.full(n, np.nan),
               lower=np.full(n, np.nan), upper=np.full(n, np.nan),
               phase=np.zeros(n, dtype=np.int8))
    bank = DetectorBank(cfg)
    bank.update_arrays(np.array([np.nan]), 0.0)  # one anonymous series
    show = sys.stderr.isatty()
    with Progress(console=err, disable=not show, transient=True) as progress:
        task = progress.add_task(f"scoring {label}", total=n)
        for i, (ts, raw) in enumerate(rows):
            t = _parse_time(ts)
            ev = bank.evidence(np.array([_to_float(raw)]), t if np.isfinite(t) else 0.0)
            assert ev.phase is not None
            if ev.valid[0] and ev.warm[0]:
                run.score[i] = ev.score[0]
                run.expected[i], run.lower[i], run.upper[i] = (
                    ev.expected[0], ev.lower[0], ev.upper[0])
                run.phase[i] = ev.phase[0]
                run.onset[i] = run.score[i] if ev.phase[0] == Phase.START else 0.0
            if show and i % 1000 == 0:
                progress.update(task, completed=i)
    return run, bank.skipped - 1


def _episodes(phase: npt.NDArray[np.int8]) -> list[tuple[int, int]]:
    """(first, last) row of every episode; an open one ends at the last row."""
    out: list[tuple[int, int]] = []
    start: int | None = None
    for i, code in enumerate(phase.tolist()):
        if code == Phase.START:
            if start is not None:
                out.append((start, max(start, i - 1)))
            start = i
        elif code == Phase.END and start is not None:
            out.append((start, i))
            start = None
    if start is not None:
        out.append((start, len(phase) - 1))
    return out


def _labels_for(path: Path, file: Path) -> tuple[tuple[str, str], ...]:
    """NAB windows of ``file`` from a combined_windows.json (matched by path suffix)."""
    try:
        labels = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        err.print(f"[red]error:[/red] {path}: {exc}", highlight=False)
        raise typer.Exit(2) from None
    parts = file.resolve().parts
    for name, windows in labels.items():
        tail = tuple(Path(name).parts)
        if parts[-len(tail):] == tail:
            return tuple((str(a), str(b)) for a, b in windows)
    err.print(f"[yellow]warning:[/yellow] {path} has no windows for {file.name}",
              highlight=False)
    return ()


def _window_rows(times: list[float], windows: tuple[tuple[str, str], ...]
                 ) -> tuple[tuple[int, int], ...]:
    t = np.array(times)
    out = []
    for lo, hi in windows:
        a, b = _parse_time(lo.split(".")[0]), _parse_time(hi.split(".")[0])
        i, j = int(np.searchsorted(t, a)), int(np.searchsorted(t, b, side="right")) - 1
        if 0 <= i <= j < len(t):
            out.append((i, j))
    return tuple(out)


@app.command()
def detect(
    file: Annotated[Path, typer.Argument(help="CSV with columns timestamp,value.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    preset_name: PresetOpt = "default",
    config: ConfigOpt = None,
    png: Annotated[
        Path | None,
        typer.Option("--png", help="Also draw the series, band, score and episodes here."),
    ] = None,
    labels: Annotated[
        Path | None,
        typer.Option("--labels", help="NAB combined_windows.json: draw this file's windows."),
    ] = None,
) -> None:
    """Score a series: one row per input row, the episode starts as anomaly_score.

    Columns: timestamp, value, anomaly_score (the score where an anomaly episode starts,
    0 elsewhere: what the daemon reports and NAB scores), score (every sample's score),
    expected, lower, upper (the band) and episode (start, ongoing, end or empty).
    A summary of the episodes goes to stderr.
    """
    cfg = detect_config(config, preset_name)
    try:
        with file.open(newline="") as fh:
            rows = list(_read_rows(fh))
    except (OSError, ValueError) as exc:
        err.print(f"[red]error:[/red] {file}: {exc}", highlight=False)
        raise typer.Exit(2) from None
    run, skipped = _stream(rows, cfg, file.name)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["timestamp", "value", "anomaly_score", "score", "expected", "lower",
                     "upper", "episode"])
    names = ("", "start", "ongoing", "end")
    for i, (ts, raw) in enumerate(rows):
        band = (run.expected[i], run.lower[i], run.upper[i])
        writer.writerow([ts, raw, f"{run.onset[i]:.6f}", f"{run.score[i]:.6f}",
                         *("" if not np.isfinite(v) else f"{v:.6g}" for v in band),
                         names[int(run.phase[i])]])
    if output is None:
        sys.stdout.write(out.getvalue())
    else:
        output.write_text(out.getvalue())
    if skipped:
        err.print(f"{skipped} rows without a numeric value were skipped (score 0)")
    episodes = _episodes(run.phase)
    _summary(rows, run, episodes, cfg)
    if png is not None:
        times = [_parse_time(ts) for ts, _ in rows]
        windows = _window_rows(times, _labels_for(labels, file)) if labels else ()
        x = (np.array(times).astype(np.int64).astype("datetime64[s]")
             if all(np.isfinite(times)) else np.arange(len(rows), dtype=np.float64))
        values = np.array([_to_float(v) for _, v in rows])
        draw(Trace(name=f"{file.name} ({preset_name if config is None else config})", x=x,
                   value=values, expected=run.expected, lower=run.lower, upper=run.upper,
                   score=run.score, onset=run.onset, episodes=tuple(episodes),
                   open_level=cfg.episode_open, windows=windows), png)
        err.print(f"picture written to {png}", highlight=False)


def _summary(rows: list[tuple[str, str]], run: _Run, episodes: list[tuple[int, int]],
             cfg: DetectConfig) -> None:
    """Episodes (start, end, reported score, peak) on stderr, strongest first if many."""
    strong = sum(1 for lo, hi in episodes if run.score[lo : hi + 1].max() >= cfg.signal_floor)
    err.print(
        f"{len(rows)} rows, {len(episodes)} anomaly episodes ({strong} reaching the signal "
        f"floor {cfg.signal_floor:g}), episode opens at score {cfg.episode_open:g}",
        highlight=False,
    )
    shown = sorted(episodes, key=lambda e: -float(run.score[e[0] : e[1] + 1].max()))[:20]
    for lo, hi in sorted(shown):
        peak = int(lo + np.argmax(run.score[lo : hi + 1]))
        err.print(
            f"  {rows[lo][0]} .. {rows[hi][0]}: reported {run.onset[lo]:.2f}, "
            f"peak {run.score[peak]:.2f} at {rows[peak][0]}", highlight=False,
        )
    if len(episodes) > len(shown):
        err.print(f"  ... and {len(episodes) - len(shown)} weaker episodes", highlight=False)


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
            help="Score each value of one setting, KEY=V1,V2,...; 'main' scores each main "
            "setting at x0.5 and x1.5 (is the optimum flat?).",
        ),
    ] = None,
    split: Annotated[
        str | None,
        typer.Option("--split", help="Score only half the corpus: A or B (held-out halves)."),
    ] = None,
    variants: Annotated[
        bool,
        typer.Option("--variants/--no-variants", help="Also score the other presets."),
    ] = True,
) -> None:
    """NAB scores (standard, reward low FP, reward low FN) beside the published ones."""
    data_dir = data if data is not None else _default_nab_dir()
    if not (data_dir / "combined_windows.json").is_file():
        err.print(f"[red]error:[/red] no NAB data at {data_dir} (use --data)", highlight=False)
        raise typer.Exit(2)
    if split is not None and split.upper() not in ("A", "B"):
        err.print(f"[red]error:[/red] --split {split!r}: expected A or B", highlight=False)
        raise typer.Exit(2)
    cfg = _override(detect_config(config, preset_name), overrides or [])
    files = nab_bench.load_corpus(data_dir)
    if split is not None:
        files = nab_bench.halves(files)[split.upper() == "B"]
    profiles = nab_bench.load_profiles(data_dir / "profiles.json")
    if sweep is not None:
        _nab_sweep(files, profiles, cfg, sweep)
        return
    start = time.perf_counter()
    label = f"aiops ({'config' if config else preset_name})"
    runs = [(label, cfg)]
    if variants and config is None and not overrides:
        runs += [(f"aiops ({name}, variant)", preset(name)) for name in PRESETS
                 if name != preset_name]
    scored = [(name, nab_bench.evaluate_files(files, profiles, c)) for name, c in runs]
    elapsed = time.perf_counter() - start
    rows: list[tuple[str, float, float, float]] = [
        (name, *(r.normalized for r in results)) for name, (results, _) in scored]  # type: ignore[misc]
    rows += list(nab_bench.PUBLISHED)
    rows.sort(key=lambda r: -r[1])
    half = f", half {split.upper()} ({len(files)} files)" if split else ""
    table = Table(title=f"NAB v1.1 scores, {data_dir}{half} ({elapsed:.0f}s)")
    for col in ("detector", "standard", "reward low FP", "reward low FN"):
        table.add_column(col, justify="left" if col == "detector" else "right")
    for name, *values in rows:
        style = "bold green" if name == label else None
        table.add_row(name, *(f"{v:.1f}" for v in values), style=style)
    console = Console()
    console.print(table)
    results, quiet = scored[0][1]
    for r in results:
        console.print(
            f"{r.profile}: threshold {r.threshold:.3f}, windows found {r.tp}/{r.tp + r.fn}, "
            f"false positives {r.fp}", highlight=False,
        )
    for name, fps in quiet:
        console.print(f"no labelled anomalies: {name}: {fps} false positives (standard)",
                      highlight=False)


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


#: The settings `--sweep main` varies (x0.5 and x1.5 of the configured value).
MAIN_SETTINGS = ("episode_open", "episode_min", "episode_calm", "episode_renew", "alpha",
                 "fast_alpha", "scale_alpha", "floor_share", "recurring_discount",
                 "repeat_discount", "record_tolerance", "adopt_after")


#: The most standard points a main setting at x0.5 or x1.5 may lose for the optimum to be flat.
FLAT_LOSS = 2.0


def _nab_sweep(files: list[nab_bench.NabFile], profiles: dict[str, nab_bench.Profile],
               cfg: DetectConfig, spec: str) -> None:
    """One NAB run per value of one setting (or x0.5/x1.5 of each main one)."""
    if spec.strip() == "main":
        plan = [(key, _scaled(cfg, key)) for key in MAIN_SETTINGS]
    else:
        key, values = _split(spec, "--sweep")
        plan = [(key, [v.strip() for v in values.split(",") if v.strip()])]
    settings = [(key, _override(cfg, [f"{key}={v}"])) for key, vals in plan for v in vals]
    main = spec.strip() == "main"
    title = "NAB flatness: each main setting at x0.5 / x1 / x1.5" if main else (
        f"NAB sensitivity to {plan[0][0]}")
    table = Table(title=title)
    for col in ("setting", "value", "standard", "reward low FP", "reward low FN", "windows",
                "FP"):
        table.add_column(col, justify="right", no_wrap=True)
    base = nab_bench.evaluate_files(files, profiles, cfg)[0][0] if main else None
    if base is not None:
        table.add_row("(as configured)", "", f"{base.normalized:.1f}", "", "",
                      f"{base.tp}/{base.tp + base.fn}", str(base.fp))
    worst: tuple[float, str] | None = None
    with Progress(console=err, transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task("sweeping", total=len(settings))
        for key, s in settings:
            (std, low_fp, low_fn), _ = nab_bench.evaluate_files(files, profiles, s)
            if base is not None:
                loss = base.normalized - std.normalized
                if worst is None or loss > worst[0]:
                    worst = (loss, f"{key}={getattr(s, key)}")
            delta = f" ({std.normalized - base.normalized:+.1f})" if base is not None else ""
            table.add_row(
                key, str(getattr(s, key)), f"{std.normalized:.1f}{delta}",
                f"{low_fp.normalized:.1f}", f"{low_fn.normalized:.1f}",
                f"{std.tp}/{std.tp + std.fn}", str(std.fp),
            )
            progress.advance(task)
    out = Console() if sys.stdout.isatty() else Console(width=120)  # a file gets whole rows
    out.print(table)
    if worst is not None:
        verdict = "flat" if worst[0] <= FLAT_LOSS else "NOT flat"
        out.print(
            f"{verdict}: the largest loss of standard score is {max(worst[0], 0.0):.1f} points "
            f"({worst[1]}); flat means every x0.5 / x1.5 loses <= {FLAT_LOSS:.0f}",
            highlight=False,
        )


def _scaled(cfg: DetectConfig, key: str) -> list[str]:
    """The setting at x0.5 and x1.5, kept in its valid range (integers rounded)."""
    value = getattr(cfg, key)
    out = []
    for factor in (0.5, 1.5):
        v = value * factor
        if isinstance(value, int):
            out.append(str(max(1, round(v))))
        else:
            limit = 1.0 if key in ("episode_open", "episode_renew", "recurring_discount",
                                   "repeat_discount") \
                or key.endswith("alpha") else float("inf")
            out.append(f"{min(v, limit - 1e-9 if key.endswith('alpha') else limit):.6g}")
    return out


@bench_app.command("throughput")
def bench_throughput(
    preset_name: PresetOpt = "default",
    config: ConfigOpt = None,
) -> None:
    """Bank points/s (array API; the daemon's columnar path at 100,000 series) vs river."""
    cfg = detect_config(config, preset_name)
    report = tp_bench.run(config=cfg)
    table = Table(title="Detector throughput (one process, one core)")
    for col in ("detector", "series", "points", "points/s", "x river"):
        table.add_column(col, justify="left" if col == "detector" else "right")
    river = report.river.per_second
    for r in (*report.bank, *report.batches, *report.storms, *report.samples, report.river):
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
