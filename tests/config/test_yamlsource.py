"""Configuration errors name the file, line, column and field a human must edit."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiops.config import load_config, parse_duration
from aiops.errors import ConfigError, ConfigErrors


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "aiops.yaml"
    p.write_text(text)
    return p


def test_defaults_load_from_a_minimal_file(tmp_path: Path) -> None:
    """A file with only apiVersion/kind gives the documented defaults."""
    cfg = load_config(write(tmp_path, "apiVersion: aiops/v1\nkind: Config\n"))
    assert cfg.source.type == "sandbox"
    assert cfg.http.listen == "127.0.0.1"
    assert cfg.loop.interval == 15.0
    assert cfg.guards.deny_namespaces == ["kube-system"]


def test_relative_paths_resolve_against_the_config_file(tmp_path: Path) -> None:
    """state_dir and runbook paths are relative to the config file, not the cwd."""
    cfg = load_config(write(tmp_path, "state_dir: st\n"))
    assert cfg.resolve(cfg.state_dir) == tmp_path / "st"


def test_unknown_field_points_at_its_key(tmp_path: Path) -> None:
    """A misspelt key is rejected at the key's own line and column."""
    p = write(tmp_path, "loop:\n  intervall: 5s\n")
    with pytest.raises(ConfigError) as info:
        load_config(p)
    assert str(info.value) == f"{p}:2:3: loop.intervall: unknown field; did you mean 'interval'?"


def test_bad_value_points_at_the_value(tmp_path: Path) -> None:
    """An invalid duration is located at the value, with the field path."""
    p = write(tmp_path, "loop:\n  interval: soon\n")
    with pytest.raises(ConfigError) as info:
        load_config(p)
    assert info.value.line == 2 and info.value.column == 13
    assert info.value.field == "loop.interval"
    assert "invalid duration 'soon'" in str(info.value)


def test_several_errors_are_reported_together(tmp_path: Path) -> None:
    """Every problem in one file is reported in one pass."""
    p = write(tmp_path, "loop: {speed: -1}\nsource: {type: carrier-pigeon}\n")
    with pytest.raises(ConfigErrors) as info:
        load_config(p)
    fields = sorted(e.field or "" for e in info.value.errors)
    assert fields == ["loop.speed", "source.type"]


def test_yaml_syntax_error_has_a_location(tmp_path: Path) -> None:
    """Broken YAML is reported with the line and column of the parse error."""
    p = write(tmp_path, "loop:\n  interval: [15s\n")
    with pytest.raises(ConfigError) as info:
        load_config(p)
    assert info.value.file == str(p) and info.value.line is not None
    assert "invalid YAML" in str(info.value)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    """A config path that does not exist is named in the error."""
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90.0), ("5m", 300.0), ("1h30m", 5400.0), ("250ms", 0.25), (3, 3.0)],
)
def test_durations_parse_to_seconds(text: str | int, seconds: float) -> None:
    """Human durations become seconds."""
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "5 minutes", "m5", -1, True, "1h-2m"])
def test_bad_durations_are_rejected(bad: object) -> None:
    """Anything that is not a non-negative duration is refused."""
    with pytest.raises(ValueError):
        parse_duration(bad)


def test_shipped_configs_are_valid() -> None:
    """Every config shipped in config/ loads cleanly."""
    root = Path(__file__).resolve().parents[2] / "config"
    files = sorted(root.glob("*.yaml"))
    assert files
    for f in files:
        load_config(f)


def test_config_reference_is_up_to_date() -> None:
    """docs/config.md is exactly what the models render: every setting documented."""
    from aiops.config.reference import document

    doc = Path(__file__).resolve().parents[2] / "docs" / "config.md"
    assert doc.read_text() == document() + "\n", (
        "regenerate: python -m aiops.config.reference > docs/config.md"
    )


def test_exposed_http_requires_a_token(tmp_path: Path) -> None:
    """Listening beyond loopback without a token file is refused, naming the field."""
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, "http:\n  listen: 0.0.0.0\n"))
    assert info.value.field == "http" and "token_file" in str(info.value)
    cfg = load_config(write(tmp_path, "http: {listen: 0.0.0.0, token_file: /run/t}\n"))
    assert cfg.http.listen == "0.0.0.0"
    assert load_config(write(tmp_path, "http: {listen: '::1'}\n")).http.listen == "::1"
