"""Docs that cannot rot: every YAML and command example in the docs is checked for real.

Configuration examples load through ``load_config``, runbooks and runbook fragments through
the runbook loader, fixtures through the fixture parser, Prometheus and Alertmanager
configs through Debian's ``promtool``/``amtool``; ``aiops`` commands must name existing
subcommands and flags, ``make`` commands existing targets, and any other command's repo
paths must exist. A block that cannot be checked says so with ``<!-- not-checked: why -->``.
"""

from __future__ import annotations

import ast
import copy
import importlib
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.main import get_command

from aiops.cli import _load_commands
from aiops.cli.app import app
from aiops.config import load_config
from aiops.errors import ConfigError, ConfigErrors
from aiops.runbook.fixture import parse_fixture
from aiops.runbook.loader import parse_runbooks
from tests.docs.examples import KINDS, Example, all_examples, commands
from tests.paths import ROOT

EXAMPLES = all_examples()
_REPO_PATH = re.compile(r"^(?:\./)?((?:config|deploy|runbooks|docs|aiops|tests)/[\w./-]*)")
_PLACEHOLDER = re.compile(r"^[A-Z][A-Z0-9_]*(\.\w+)?$|^\.\.\.$")
BASE_RUNBOOK: dict[str, Any] = {
    "apiVersion": "aiops/v1", "kind": "Runbook", "metadata": {"name": "doc-example"},
    "spec": {
        "triggers": [{"anomaly": {"metric": "latency_p99"}}],
        "target": {"kind": "Deployment", "namespace": "shop", "name": "web"},
        "steps": [{"action": "restart"}],
    },
}


def _cli() -> Any:
    _load_commands()
    return get_command(app)


CLI = _cli()


def _problem(exc: BaseException) -> str:
    if isinstance(exc, ConfigErrors):
        return "; ".join(e.render() for e in exc.errors)
    return str(exc)


def _check_config(ex: Example, tmp: Path) -> None:
    path = tmp / "aiops.yaml"
    path.write_text(ex.text)
    load_config(path)


def _check_runbook(ex: Example, tmp: Path) -> None:
    assert parse_runbooks(ex.text, file=f"{ex.file} (example at line {ex.line})")


def _check_runbook_spec(ex: Example, tmp: Path) -> None:
    """A fragment of ``spec`` (e.g. a ``when``), checked inside a minimal runbook."""
    doc = copy.deepcopy(BASE_RUNBOOK)
    doc["spec"].update(yaml.safe_load(ex.text))
    assert parse_runbooks(yaml.safe_dump(doc), file=f"{ex.file} (example at line {ex.line})")


def _check_fixture(ex: Example, tmp: Path) -> None:
    parse_fixture(ex.text, file=ex.where)


def _tool(name: str, *args: str) -> None:
    binary = shutil.which(name)
    assert binary, f"{name} is not installed: `make debs` installs it"
    run = subprocess.run([binary, *args], capture_output=True, text=True, timeout=60,
                         check=False)
    assert run.returncode == 0, run.stdout + run.stderr


def _check_prometheus(ex: Example, tmp: Path) -> None:
    path = tmp / "prometheus.yml"
    path.write_text(ex.text)
    _tool("promtool", "check", "config", str(path))


def _check_alertmanager(ex: Example, tmp: Path) -> None:
    path = tmp / "alertmanager.yml"
    path.write_text(ex.text)
    _tool("amtool", "check-config", str(path))


def _check_python(ex: Example, tmp: Path) -> None:
    tree = ast.parse(ex.text, filename=ex.where)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name), f"{node.module} has no {alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                importlib.import_module(alias.name)


def _words(cmd: list[str]) -> list[str]:
    """Synopsis notation off: ``[--preset default|nab]`` -> ``--preset``, ``default|nab``."""
    return [w.strip("[]") for w in cmd if w.strip("[]")]


def check_aiops(words: list[str]) -> str:
    """Empty when ``aiops ...`` names an existing command and only its flags."""
    command, i = CLI, 1
    while i < len(words) and hasattr(command, "commands") and not words[i].startswith("-"):
        word = words[i]
        if _PLACEHOLDER.match(word):
            return ""  # `aiops COMMAND --help`: a placeholder for any command
        names = word.split("/")  # `aiops runbook lint/test/backtest`
        missing = [n for n in names if n not in command.commands]
        if missing:
            return f"no command {' '.join(words[:i])} {missing[0]!r}"
        if len(names) > 1:
            return ""
        command, i = command.commands[word], i + 1
    opts = {"--help"}
    for p in command.params:
        opts |= set(getattr(p, "opts", ())) | set(getattr(p, "secondary_opts", ()))
    for word in words[i:]:
        flag = word.split("=", 1)[0]
        if flag.startswith("-") and flag not in opts:
            return f"`{' '.join(words)}`: {command.name} has no option {flag}"
    return ""


def _targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-z][\w-]*):", text, flags=re.M))


def check_commands(text: str) -> tuple[int, list[str]]:
    """(how many things were checked, problems) for a block of command lines."""
    checked, problems = 0, []
    for cmd in commands(text):
        words = _words(cmd)
        if not words:
            continue
        head = words[0]
        if head in ("aiops", ".venv/bin/aiops") or head.endswith("/bin/aiops"):
            checked += 1
            if problem := check_aiops(words):
                problems.append(problem)
            continue
        if head == "make":
            for target in (w for w in words[1:] if "=" not in w and not w.startswith("-")):
                checked += 1
                if target not in _targets():
                    problems.append(f"`{' '.join(words)}`: no Makefile target {target!r}")
            continue
        for word in words[1:]:
            for part in word.split(":")[:1] + word.split("=")[1:]:
                m = _REPO_PATH.match(part)
                if m:
                    checked += 1
                    if not (ROOT / m[1]).exists():
                        problems.append(f"`{' '.join(words)}`: {m[1]} does not exist")
    return checked, problems


CHECKS = {
    "config": _check_config, "runbook": _check_runbook, "runbook-spec": _check_runbook_spec,
    "fixture": _check_fixture, "prometheus": _check_prometheus,
    "alertmanager": _check_alertmanager, "python": _check_python,
}


def _id(ex: Example) -> str:
    return f"{ex.where}:{ex.kind}"


@pytest.mark.parametrize("ex", [e for e in EXAMPLES if e.kind != "not-checked"], ids=_id)
def test_example_is_true(ex: Example, tmp_path: Path) -> None:
    """This example loads, parses or names things that exist, as the doc claims."""
    assert ex.kind in (*KINDS, "runbook-spec"), f"{ex.where}: {ex.kind}; mark it"
    if ex.kind == "commands":
        checked, problems = check_commands(ex.text)
        assert problems == [], f"{ex.where}: {problems}"
        assert checked, (f"{ex.where}: nothing checkable in this block; check it as "
                         "something else or mark it <!-- not-checked: why -->")
        return
    try:
        CHECKS[ex.kind](ex, tmp_path)
    except (ConfigError, ConfigErrors) as exc:
        pytest.fail(f"{ex.where}: {ex.kind} example is wrong: {_problem(exc)}")


def test_unchecked_examples_say_why() -> None:
    """Every deliberately unchecked block carries a reason, and they stay few."""
    skipped = [e for e in EXAMPLES if e.kind == "not-checked"]
    assert all(len(e.reason) >= 10 for e in skipped), [e.where for e in skipped]
    assert len(skipped) <= len(EXAMPLES) // 4


def test_the_checker_catches_wrong_examples() -> None:
    """A misspelt flag, a missing subcommand, a bad Make target and a lost path are found."""
    _, problems = check_commands(
        "aiops run --sped 60\naiops runbook frobnicate x\nmake nothing\n"
        "podman build -f deploy/container/Nofile .\n"
    )
    assert len(problems) == 4
    assert check_commands("aiops bench nab [--preset default|nab] [--data DIR]") == (1, [])
