"""`aiops schema runbook` is a JSON Schema that accepts every shipped runbook, as editors see it.

Editors (the YAML language server) read YAML 1.2, where ``on:`` is a string key, and run a
JSON Schema validator; so does this test, with ``jsonschema`` over every runbook under
``runbooks/``, and it checks the schema and the loader agree on written forms.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from aiops.cli import _load_commands
from aiops.cli.app import app
from aiops.errors import ConfigError, ConfigErrors
from aiops.runbook.loader import parse_runbooks, runbook_files

ROOT = Path(__file__).resolve().parents[2]


class Yaml12Loader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 booleans (only true/false; ``on`` is a string)."""


Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for first in "tTfF":
    Yaml12Loader.add_implicit_resolver(
        "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
        list(first),
    )


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    """The schema exactly as `aiops schema runbook` prints it."""
    _load_commands()
    res = CliRunner().invoke(app, ["schema", "runbook"])
    assert res.exit_code == 0, res.output
    schema = json.loads(res.output)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _runbooks() -> list[tuple[str, dict[str, Any]]]:
    docs = []
    for path in runbook_files([ROOT / "runbooks"]):
        for doc in yaml.load_all(path.read_text(encoding="utf-8"), Loader=Yaml12Loader):
            if isinstance(doc, dict) and doc.get("kind") == "Runbook":
                docs.append((str(path.relative_to(ROOT)), doc))
    return docs


def test_every_shipped_runbook_passes_the_schema(validator: jsonschema.protocols.Validator
                                                 ) -> None:
    """jsonschema finds no error in any runbook under runbooks/ (examples and sandbox)."""
    docs = _runbooks()
    assert len(docs) >= 9
    problems = {
        name: [f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
               for e in validator.iter_errors(doc)]
        for name, doc in docs
    }
    assert {k: v for k, v in problems.items() if v} == {}


def _loads(doc: dict[str, Any]) -> bool:
    try:
        parse_runbooks(yaml.safe_dump(doc), file="case.yaml")
    except (ConfigError, ConfigErrors):
        return False
    return True


@pytest.mark.parametrize(
    ("where", "value", "valid"),
    [
        (("spec", "guards", "cooldown"), "1h30m", True),
        (("spec", "guards", "cooldown"), 90, True),
        (("spec", "guards", "cooldown"), "2 fortnights", False),
        (("spec", "guards", "cooldown"), [1], False),
        (("spec", "steps", 0, "with", "delta"), "+2", True),
        (("spec", "steps", 0, "with", "delta"), -1, True),
        (("spec", "steps", 0, "with", "delta"), "two", False),
    ],
)
def test_schema_and_loader_agree_on_written_forms(
    validator: jsonschema.protocols.Validator, where: tuple[Any, ...], value: Any, valid: bool
) -> None:
    """Durations and scale deltas: the schema accepts exactly what the loader accepts."""
    doc: dict[str, Any] = {
        "apiVersion": "aiops/v1", "kind": "Runbook", "metadata": {"name": "case"},
        "spec": {
            "triggers": [{"anomaly": {"metric": "latency_p99"}}],
            "target": {"kind": "Deployment", "namespace": "shop", "name": "web"},
            "steps": [{"action": "scale", "with": {"delta": 1}}],
        },
    }
    node: Any = doc
    for part in where[:-1]:
        node = node.setdefault(part, {}) if isinstance(part, str) else node[part]
    node[where[-1]] = value
    assert validator.is_valid(doc) is valid
    assert _loads(doc) is valid
