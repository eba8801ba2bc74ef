"""The `journal:` section: SQLite by default, PostgreSQL by URL, secrets only by reference."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiops.config import load_config
from aiops.config.journal import JournalConfig
from aiops.errors import ConfigError, ConfigErrors
from aiops.journal.connect import password_reader


def _load(tmp_path: Path, section: str) -> object:
    cfg = tmp_path / "aiops.yaml"
    cfg.write_text(f"state_dir: state\n{section}")
    return load_config(cfg)


def test_default_is_the_sqlite_file_and_a_url_selects_postgresql(tmp_path: Path) -> None:
    """No section: SQLite; a postgresql:// URL with a password file: PostgreSQL."""
    assert _load(tmp_path, "").journal.engine == "sqlite"  # type: ignore[attr-defined]
    got = _load(tmp_path, "journal: {url: 'postgresql://aiops@db:5432/aiops',"
                " password_file: pw, schema: shard_a}\n")
    assert got.journal.engine == "postgresql"  # type: ignore[attr-defined]
    assert got.journal.schema_name == "shard_a"  # type: ignore[attr-defined]


@pytest.mark.parametrize(("section", "field", "needle"), [
    ("journal: {url: 'postgresql://aiops:s3cret@db/aiops'}\n", "journal.url", "password_file"),
    ("journal: {url: 'postgresql://db/aiops?password=s3cret'}\n", "journal.url",
     "password_env"),
    ("journal: {url: 'mysql://db/aiops'}\n", "journal.url", "postgresql://"),
    ("journal: {url: 'postgresql://db/a', schema: 'Bad-Name'}\n", "journal.schema",
     "identifier"),
    ("journal: {url: 'postgresql://db/a', password_file: a, password_env: B}\n", "journal",
     "not both"),
    ("journal: {password_env: B}\n", "journal", "needs journal.url"),
])
def test_bad_journal_settings_are_located(tmp_path: Path, section: str, field: str,
                                          needle: str) -> None:
    """Each mistake names the file, line and field, and never echoes a secret."""
    with pytest.raises((ConfigError, ConfigErrors)) as info:
        _load(tmp_path, section)
    text = str(info.value) if isinstance(info.value, ConfigError) else "; ".join(
        e.render() for e in info.value.errors)
    assert "aiops.yaml:2:" in text and field in text and needle in text
    assert "s3cret" not in text


def test_the_password_is_read_when_connecting_not_when_loading(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """File and environment references resolve at call time, relative to the config."""
    by_file = JournalConfig(url="postgresql://aiops@db/aiops", password_file="pw")
    read = password_reader(by_file, tmp_path)
    assert read is not None
    (tmp_path / "pw").write_text("first\n")
    assert read() == "first"
    (tmp_path / "pw").write_text("rotated\n")
    assert read() == "rotated"
    by_env = JournalConfig(url="postgresql://aiops@db/aiops", password_env="AIOPS_TEST_PW")
    env = password_reader(by_env, tmp_path)
    assert env is not None
    monkeypatch.delenv("AIOPS_TEST_PW", raising=False)
    with pytest.raises(OSError, match="AIOPS_TEST_PW"):
        env()
    monkeypatch.setenv("AIOPS_TEST_PW", "from-env")
    assert env() == "from-env"
    assert password_reader(JournalConfig(url="postgresql://aiops@db/aiops"), tmp_path) is None
