"""The typer application every ``aiops`` subcommand registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="aiops",
    help="AIOps monitoring and self-healing daemon.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
bench_app = typer.Typer(help="Benchmarks: figures as ratios against an in-run baseline.")
runbook_app = typer.Typer(help="Runbook author tools: lint, test, backtest.")
models_app = typer.Typer(help="Model versions: list, show, promote, rollback, bench, gate.")
app.add_typer(bench_app, name="bench")
app.add_typer(runbook_app, name="runbook")
app.add_typer(models_app, name="models")
