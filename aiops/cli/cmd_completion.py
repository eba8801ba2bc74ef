"""``aiops completion SHELL``: print the shell completion script for a named shell.

typer's ``--show-completion`` guesses the shell from the parent processes, which fails
under CI runners, ``sudo`` and containers ("Shell  not supported"); naming it always
works: ``aiops completion bash > /etc/bash_completion.d/aiops``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from typer._completion_shared import get_completion_script

from aiops.cli.app import app


class Shell(StrEnum):
    """The shells typer writes completion scripts for."""

    BASH = "bash"
    ZSH = "zsh"
    FISH = "fish"
    POWERSHELL = "powershell"


@app.command("completion")
def completion_cmd(
    shell: Annotated[Shell, typer.Argument(help="The shell to complete in.")],
) -> None:
    """Print the completion script for SHELL (source it, or save it where SHELL looks)."""
    typer.echo(get_completion_script(prog_name="aiops", complete_var="_AIOPS_COMPLETE",
                                     shell=shell.value))
