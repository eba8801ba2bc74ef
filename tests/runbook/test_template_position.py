"""A template's syntax error points at the offending character, not at its key."""

from __future__ import annotations

import pytest

from aiops.errors import ConfigError, ConfigErrors
from aiops.runbook.loader import parse_runbooks

HEAD = """apiVersion: aiops/v1
kind: Runbook
metadata: {name: x}
spec:
  triggers:
    - anomaly: {metric: latency_p99}
  steps:
    - action: restart
  target:
    kind: Deployment
"""


def _error(tail: str) -> ConfigError:
    with pytest.raises((ConfigError, ConfigErrors)) as e:
        parse_runbooks(HEAD + tail, file="r.yaml")
    errors = e.value.errors if isinstance(e.value, ConfigErrors) else [e.value]
    [err] = errors
    return err


def _char_at(text: str, line: int, column: int) -> str:
    return text.splitlines()[line - 1][column - 1]


@pytest.mark.parametrize(
    ("tail", "char"),
    [
        ("    namespace: shop\n    name: '{{ labels.workload }'\n", "}"),
        ('    namespace: shop\n    name: "x-{{ labels.workload | }}"\n', "}"),
        ("    namespace: '{{ labels[''ns''] ) }}'\n    name: web\n", ")"),
        ("    namespace: shop\n    name: |\n      web\n      {{ labels.x + }}\n", "}"),
        ("    namespace: shop\n    name: web-{{ labels.x $ }}\n", "$"),
    ],
    ids=["single-quoted", "double-quoted", "escaped-quotes", "block", "plain-lexer"],
)
def test_template_error_points_at_the_character(tail: str, char: str) -> None:
    """The error's line:column is the first character that makes the template invalid."""
    err = _error(tail)
    assert "invalid template" in err.message
    assert err.line is not None and err.column is not None
    assert err.line > HEAD.count("\n")
    assert _char_at(HEAD + tail, err.line, err.column) == char


def test_expression_error_points_at_the_character() -> None:
    """An incomplete `when` points just past its last token (the closing quote)."""
    text = "    namespace: shop\n    name: web\n  when: 'labels.env == \"prod\" and'\n"
    err = _error(text)
    assert err.field == "spec.when"
    assert (err.line, err.column) == (HEAD.count("\n") + 3, 34)
