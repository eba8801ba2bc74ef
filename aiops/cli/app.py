"""The typer application every ``aiops`` subcommand registers on.

Conventions every command gets from here: ``aiops --version``, shell completion
(``aiops --install-completion`` / ``--show-completion``, typer's), and help that shows
click-style value names (``PATH``, ``INTEGER``, ``DURATION``) instead of the Python types
recent typer versions print (``<bool>``, ``<list[Path]>``); flags show no value at all.
"""

from __future__ import annotations

from typing import Annotated, Any

import click
import typer
from typer.core import TyperArgument, TyperGroup, TyperOption

from aiops import __version__

_LABELS: dict[Any, str] = {str: "TEXT", int: "INTEGER", float: "NUMBER", bool: "BOOL"}


def _label(param: Any) -> str:
    """``PATH``, ``INTEGER``, ``a|b``...: what a value of ``param`` looks like."""
    desc = getattr(param, "type_descriptor", None)  # typer >= 0.20 keeps the annotation
    if desc is not None:
        if desc.is_choice:
            return "|".join(str(getattr(c, "value", c)) for c in desc.choices or ())
        if desc.is_path:
            return "PATH"
        annotation = desc.annotation
        args = getattr(annotation, "__args__", None)
        if desc.is_list and args:
            annotation = args[0]
        return _LABELS.get(annotation, "VALUE")
    kind = getattr(param, "type", None)  # older typer: a click ParamType
    if isinstance(kind, click.Choice):
        return "|".join(str(c) for c in kind.choices)
    return str(getattr(kind, "name", "value")).upper()


def _without_type_column(cls: type[Any]) -> type[Any]:
    """A parameter subclass whose help shows only its name (the metavar), not a Python type."""

    def display_type_rich(self: Any, ctx: Any) -> str | None:
        return None

    return type(cls.__name__, (cls,), {"display_type_rich": display_type_rich})


def _quiet_help_option(cls: type[Any]) -> type[Any]:
    """A command subclass whose ``--help`` flag shows no value type either."""

    def get_help_option(self: Any, ctx: Any) -> Any:
        option = cls.get_help_option(self, ctx)
        if option is not None:
            option.metavar = ""
        return option

    return type(cls.__name__, (cls,), {"get_help_option": get_help_option})


def _relabel_params(params: list[Any]) -> None:
    for param in params:
        if isinstance(param, TyperOption | click.Option):
            if param.is_flag or param.count:
                param.metavar = ""
            elif param.metavar is None:
                param.metavar = _label(param)
        elif isinstance(param, TyperArgument | click.Argument):
            if param.metavar is None:
                param.metavar = (param.name or "arg").upper()
            param.__class__ = _without_type_column(type(param))


def relabel(command: Any) -> None:
    """Give every parameter of ``command`` (and its subcommands) a click-style metavar."""
    _relabel_params(command.params)
    if not isinstance(command, HelpGroup):
        command.__class__ = _quiet_help_option(type(command))
    for sub in getattr(command, "commands", {}).values():
        relabel(sub)


class HelpGroup(TyperGroup):
    """The root group: relabels the whole command tree once it is built."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        relabel(self)

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)
        if option is not None:
            option.metavar = ""
        return option

    def get_params(self, ctx: Any) -> Any:
        _relabel_params(self.params)  # typer adds the completion options after __init__
        return super().get_params(ctx)


app = typer.Typer(
    name="aiops",
    cls=HelpGroup,
    help="AIOps monitoring and self-healing daemon.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)
bench_app = typer.Typer(help="Benchmarks: figures as ratios against an in-run baseline.")
runbook_app = typer.Typer(help="Runbook author tools: lint, test, backtest.")
models_app = typer.Typer(help="Model versions: list, show, promote, rollback, bench, gate.")
app.add_typer(bench_app, name="bench")
app.add_typer(runbook_app, name="runbook")
app.add_typer(models_app, name="models")


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"aiops {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True,
                     help="Print the version and exit."),
    ] = False,
) -> None:
    """AIOps monitoring and self-healing daemon."""
