"""CLI conventions: --version, shell completion, and help without Python type tags."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
from typing import Any

import pytest
from typer.main import get_command
from typer.testing import CliRunner

import aiops
from aiops.cli import _load_commands
from aiops.cli.app import app

TYPE_TAG = re.compile(r"<(bool|str|int|float|path|Path|list\[[^\]]*\])>")


def aiops_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aiops", *args], capture_output=True, text=True, timeout=60,
        check=False, env={"PATH": os.environ.get("PATH", "/usr/bin"), **(env or {})},
    )


def test_version_prints_the_package_version() -> None:
    """`aiops --version` prints the installed distribution's version and exits 0."""
    out = aiops_cli("--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"aiops {importlib.metadata.version('aiops')}"
    assert aiops.__version__ == importlib.metadata.version("aiops")


def _paths(command: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [prefix]
    for name, sub in getattr(command, "commands", {}).items():
        out += _paths(sub, (*prefix, name))
    return out


_load_commands()
COMMANDS = _paths(get_command(app))


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "aiops")
def test_help_has_no_type_tags(path: tuple[str, ...]) -> None:
    """Every command's --help names values (PATH, INTEGER), never <bool> or <list[Path]>."""
    res = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "120"})
    assert res.exit_code == 0, res.output
    assert "Usage:" in res.output
    assert TYPE_TAG.search(res.output) is None, res.output


def test_help_names_values_and_hides_flag_types() -> None:
    """Value options show a metavar; flags show none."""
    res = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "120"})
    line = next(x for x in res.output.splitlines() if "--config" in x)
    assert "PATH" in line
    once = next(x for x in res.output.splitlines() if "--once" in x)
    assert re.search(r"--once\s+Run one cycle", once)


def test_shell_completion_completes_commands_and_options() -> None:
    """typer's completion: the bash script installs, and partial words complete."""
    script = aiops_cli("--show-completion", "bash")
    assert script.returncode == 0
    assert "complete -o default -F _aiops_completion aiops" in script.stdout
    words = aiops_cli(env={"_AIOPS_COMPLETE": "complete_bash", "COMP_WORDS": "aiops ru",
                           "COMP_CWORD": "1"}).stdout.split()
    assert words == ["run", "runbook"]
    flags = aiops_cli(env={"_AIOPS_COMPLETE": "complete_bash",
                           "COMP_WORDS": "aiops incidents --out", "COMP_CWORD": "2"})
    assert flags.stdout.split() == ["--output"]
