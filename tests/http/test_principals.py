"""Tokens name principals with roles; an exposed daemon without tokens refuses to start."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import pytest

from aiops.config.server import HttpConfig
from aiops.errors import ConfigError
from aiops.http import load_principals


def _config(**kw: object) -> HttpConfig:
    return HttpConfig.model_validate(kw)


def test_tokens_from_files_and_env_name_principals(tmp_path: Path) -> None:
    """A file token and an env token each authenticate as their principal, with its roles."""
    (tmp_path / "am.token").write_text("  am-secret-token\n")
    cfg = _config(tokens=[
        {"name": "alertmanager", "token_file": "am.token", "roles": ["alerts"]},
        {"name": "alice", "token_env": "ALICE_TOKEN", "roles": ["approve", "read"]},
        {"name": "root", "token_env": "ROOT_TOKEN", "roles": ["admin"]},
    ])
    table = load_principals(cfg, tmp_path, {"ALICE_TOKEN": "alice-secret", "ROOT_TOKEN": "r00t"})
    am = table.authenticate("Bearer am-secret-token")
    assert am is not None and am.name == "alertmanager" and am.may("alerts")
    assert not am.may("approve") and not am.may("read")
    basic = "Basic " + base64.b64encode(b"whoever:alice-secret").decode()
    alice = table.authenticate(basic)
    assert alice is not None and alice.name == "alice" and alice.may("approve")
    root = table.authenticate("Bearer r00t")
    assert root is not None and all(root.may(r) for r in ("alerts", "approve", "read"))
    for bad in (None, "", "Bearer", "Bearer am-secret", "Token am-secret-token", "Basic !!"):
        assert table.authenticate(bad) is None


def test_legacy_token_file_is_one_shared_principal(tmp_path: Path) -> None:
    """http.token_file still works: one principal 'shared' that may post, approve and read."""
    (tmp_path / "t").write_text("shared-token")
    table = load_principals(_config(token_file="t"), tmp_path, {})
    who = table.authenticate("Bearer shared-token")
    assert who is not None and who.name == "shared"
    assert who.may("alerts") and who.may("approve") and who.may("read") and not who.may("admin")


@pytest.mark.parametrize(
    ("tokens", "env", "message"),
    [
        ([{"name": "a", "token_env": "UNSET_VAR", "roles": ["read"]}], {}, "UNSET_VAR is unset"),
        ([{"name": "a", "token_file": "missing", "roles": ["read"]}], {}, "cannot read token"),
        ([{"name": "a", "token_env": "X", "roles": ["read"]},
          {"name": "b", "token_env": "Y", "roles": ["read"]}], {"X": "same", "Y": "same"},
         "reuses another principal's token"),
    ],
)
def test_bad_token_sources_are_config_errors(tmp_path: Path, tokens: list[dict[str, object]],
                                             env: dict[str, str], message: str) -> None:
    """An unset variable, a missing file or a shared token is an error naming the entry."""
    with pytest.raises(ConfigError) as info:
        load_principals(_config(tokens=tokens), tmp_path, env)
    assert message in str(info.value) and info.value.field is not None


@pytest.mark.parametrize(
    "entry",
    [
        {"name": "a", "roles": ["read"]},  # no source
        {"name": "a", "token_env": "X", "token_file": "f", "roles": ["read"]},  # two
        {"name": "a", "token": "inline-secret", "roles": ["read"]},  # inline: not a field
        {"name": "a b", "token_env": "X", "roles": ["read"]},
        {"name": "a", "token_env": "X", "roles": ["root"]},
        {"name": "a", "token_env": "X", "roles": []},
    ],
)
def test_token_entries_are_validated(entry: dict[str, object]) -> None:
    """Exactly one source, never inline, a plain name and known roles."""
    with pytest.raises(ValueError, match="tokens"):
        _config(tokens=[entry])


def test_non_loopback_listen_without_tokens_refuses_to_start(tmp_path: Path) -> None:
    """`aiops run` with http.listen 0.0.0.0 and no token exits 2 with a one-line error."""
    cfg = tmp_path / "aiops.yaml"
    cfg.write_text(f"state_dir: {tmp_path / 'state'}\nhttp: {{listen: 0.0.0.0, port: 0}}\n")
    run = subprocess.run([sys.executable, "-m", "aiops", "run", "--config", str(cfg), "--once"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "not loopback" in lines[0] and "http.tokens" in lines[0]
    assert not (tmp_path / "state").exists() or not any((tmp_path / "state").iterdir())
