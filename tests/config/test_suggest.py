"""Unknown keys in configuration and runbooks name the closest allowed key, or its place."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiops.config import load_config
from aiops.errors import ConfigError, ConfigErrors
from aiops.runbook.loader import parse_runbooks


def _config_errors(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "aiops.yaml"
    path.write_text(text)
    with pytest.raises((ConfigError, ConfigErrors)) as e:
        load_config(path)
    errors = e.value.errors if isinstance(e.value, ConfigErrors) else [e.value]
    return [err.render() for err in errors]


def test_misspelt_config_key_suggests_the_right_one(tmp_path: Path) -> None:
    """`loop.intervall` is an unknown field at its own line, pointing at `interval`."""
    [msg] = _config_errors(tmp_path, "loop:\n  intervall: 15s\n")
    assert msg.endswith(":2:3: loop.intervall: unknown field; did you mean 'interval'?")


def test_key_in_the_wrong_section_says_where_it_belongs(tmp_path: Path) -> None:
    """`source.prometheus.backfill` (as old docs said) points at loop.backfill."""
    text = ("source:\n  type: prometheus\n  prometheus:\n    url: http://p:9090\n"
            "    backfill: 1h\n")
    [msg] = _config_errors(tmp_path, text)
    assert "source.prometheus.backfill: unknown field; 'backfill' belongs under" in msg
    assert "loop (loop.backfill)" in msg


def test_nonsense_key_lists_what_is_allowed(tmp_path: Path) -> None:
    """A key like nothing allowed lists the section's keys instead."""
    [msg] = _config_errors(tmp_path, "loop:\n  zzz: 1\n")
    assert "unknown field; expected one of: interval, speed, backfill" in msg


RUNBOOK = """apiVersion: aiops/v1
kind: Runbook
metadata: {name: x}
spec:
  triggers:
    - anomaly: {metric: latency_p99, score_abov: 0.9}
  target: {kind: Deployment, namespace: shop, name: web}
  steps:
    - action: scale
      with: {delt: "+2"}
    - action: wait
      with: {duraton: 2m, duration: 1m}
"""


def test_runbook_keys_are_suggested_per_step_kind() -> None:
    """Suggestions follow the step's action: scale's `delta`, wait's `duration`."""
    with pytest.raises(ConfigErrors) as e:
        parse_runbooks(RUNBOOK, file="r.yaml")
    found = sorted(err.render() for err in e.value.errors)
    assert found == [
        "r.yaml:10:14: spec.steps[0].with.delt: unknown field; did you mean 'delta'?",
        "r.yaml:12:14: spec.steps[1].with.duraton: unknown field; did you mean 'duration'?",
        "r.yaml:6:38: spec.triggers[0].anomaly.score_abov: unknown field; "
        "did you mean 'score_above'?",
    ]
