"""Loading runbooks: every rejection names file:line:column and the field."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from aiops.errors import ConfigError, ConfigErrors
from aiops.runbook import load_runbooks
from aiops.runbook.schema import ScaleStep, json_schema
from tests.runbook.factories import LADDER, SANDBOX_RUNBOOKS

GOOD = """\
apiVersion: aiops/v1
kind: Runbook
metadata: {name: leak}
spec:
  triggers:
    - anomaly: {metric: memory_usage, for: 2m}
  target: {kind: SandboxWorkload, namespace: shop, name: '{{ labels.workload }}'}
  steps:
    - action: restart
"""


def _write(tmp_path: Path, text: str, name: str = "rb.yaml") -> Path:
    p = tmp_path / name
    p.write_text(dedent(text))
    return p


def _error(tmp_path: Path, text: str) -> ConfigError:
    p = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_runbooks([p])
    return info.value


def test_loads_a_directory_of_runbooks(tmp_path: Path) -> None:
    """A directory is expanded to its YAML files and every runbook is loaded."""
    _write(tmp_path, GOOD, "a.yaml")
    _write(tmp_path, LADDER, "b.yml")
    books = load_runbooks([tmp_path])
    assert [b.name for b in books] == ["leak", "ladder"]
    assert books[0].spec.triggers[0].anomaly is not None
    assert books[0].spec.triggers[0].anomaly.for_ == 120.0


def test_bad_yaml_names_line_and_column(tmp_path: Path) -> None:
    """A YAML syntax error reports the file and the position of the problem."""
    err = _error(tmp_path, GOOD.replace("name: leak}", "name: leak"))
    assert err.file is not None and err.file.endswith("rb.yaml")
    assert err.line == 4 and err.column is not None
    assert "invalid YAML" in str(err)


def test_unknown_action_points_at_the_action_field(tmp_path: Path) -> None:
    """An unknown step action names spec.steps[i].action at its line and lists the valid ones."""
    err = _error(tmp_path, GOOD.replace("action: restart", "action: reboot"))
    assert err.field == "spec.steps[0].action"
    assert (err.line, err.column) == (9, 7)
    assert "unknown action 'reboot'" in err.message and "rollback" in err.message


def test_missing_target_is_reported(tmp_path: Path) -> None:
    """A runbook without a target fails naming spec.target."""
    text = "\n".join(line for line in GOOD.splitlines() if "target:" not in line)
    err = _error(tmp_path, text)
    assert err.field == "spec.target"
    assert err.message == "field required"
    assert str(err).startswith(f"{tmp_path / 'rb.yaml'}:4:")


def test_unknown_field_is_located(tmp_path: Path) -> None:
    """A misspelt field is rejected at its own line and column."""
    err = _error(tmp_path, GOOD.replace("- action: restart", "- action: restart\n      retries: 3"))
    assert err.field == "spec.steps[0].retries"
    assert err.message == "unknown field; did you mean 'retry'?"
    assert (err.line, err.column) == (10, 7)


def test_invalid_expression_is_rejected_at_load(tmp_path: Path) -> None:
    """A `when` that does not compile fails `aiops check`, not the first incident."""
    err = _error(tmp_path, GOOD.replace("  steps:", "  when: 'labels.env =='\n  steps:"))
    assert err.field == "spec.when"
    assert "invalid expression" in err.message


def test_several_errors_are_reported_together(tmp_path: Path) -> None:
    """All problems of a file come back at once, each located."""
    bad = GOOD.replace("action: restart", "action: reboot").replace("kind: Runbook", "kind: Book")
    p = _write(tmp_path, bad)
    with pytest.raises(ConfigErrors) as info:
        load_runbooks([p])
    fields = {e.field for e in info.value.errors}
    assert fields == {"kind", "spec.steps[0].action"}


def test_duplicate_names_across_files_fail(tmp_path: Path) -> None:
    """Two runbooks with the same name are an error naming the second file."""
    _write(tmp_path, GOOD, "a.yaml")
    _write(tmp_path, GOOD, "b.yaml")
    with pytest.raises(ConfigError, match="duplicate runbook name 'leak'"):
        load_runbooks([tmp_path])


def test_scale_delta_accepts_signed_strings(tmp_path: Path) -> None:
    """`delta: "+2"` parses to 2; a scale step needs exactly one of replicas/delta."""
    books = load_runbooks([_write(tmp_path, LADDER)])
    step = books[0].spec.steps[0]
    assert isinstance(step, ScaleStep) and step.with_.delta == 2
    err = _error(tmp_path, LADDER.replace('delta: "+2"', 'delta: "+2", replicas: 3'))
    assert err.field == "spec.steps[0].with" and "exactly one of replicas, delta" in err.message


def test_sandbox_runbooks_load() -> None:
    """The shipped sandbox runbooks (four faults + predictive scaling) load, all automatic."""
    books = load_runbooks([SANDBOX_RUNBOOKS])
    assert sorted(b.name for b in books) == [
        "cart-memory-leak", "catalog-predictive-scaling", "checkout-bad-rollout",
        "frontend-traffic-surge", "payments-crash-loop",
    ]
    assert {b.spec.mode for b in books} == {"auto"}


def test_json_schema_lists_step_actions() -> None:
    """The exported JSON Schema uses YAML names (`with`, `for`) and knows every action."""
    schema = json_schema()
    text = str(schema)
    assert "'with'" in text and "'for'" in text
    for action in ("scale", "restart", "rollback", "delete_pod", "wait", "command"):
        assert f"'{action}'" in text


def _field_names(schema: dict[str, object]) -> set[str]:
    names: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            props = node.get("properties")
            if isinstance(props, dict):
                names.update(props)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(schema)
    return names


def test_readme_documents_every_field() -> None:
    """runbooks/README.md names every field of the schema (docs cannot drift silently)."""
    readme = (SANDBOX_RUNBOOKS.parent / "README.md").read_text()
    missing = sorted(n for n in _field_names(json_schema()) if f"`{n}`" not in readme)
    assert missing == []
