"""deploy/container/Containerfile: non-root, read-only-root friendly, builds from repo paths."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FILE = ROOT / "deploy" / "container" / "Containerfile"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuations joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def _final_stage() -> list[tuple[str, str]]:
    steps = instructions(FILE.read_text())
    last_from = max(i for i, (w, _) in enumerate(steps) if w == "FROM")
    return steps[last_from:]


def test_runs_as_numeric_non_root_user() -> None:
    """The final stage runs as a numeric non-root UID (so runAsNonRoot can verify it)."""
    users = [a for w, a in _final_stage() if w == "USER"]
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0


def test_read_only_root_friendly() -> None:
    """No bytecode or caches are written at run time; state is a volume; HOME is /tmp."""
    env = " ".join(a for w, a in _final_stage() if w == "ENV")
    for setting in ("PYTHONDONTWRITEBYTECODE=1", "HOME=/tmp", "MPLCONFIGDIR=/tmp/matplotlib"):
        assert setting in env
    assert json.loads(next(a for w, a in _final_stage() if w == "VOLUME")) == ["/var/lib/aiops"]


def test_entrypoint_and_port() -> None:
    """The image runs `aiops run --config /etc/aiops/config.yaml` and exposes 9464."""
    stage = dict(_final_stage())
    assert json.loads(stage["ENTRYPOINT"]) == ["aiops"]
    assert json.loads(stage["CMD"])[:3] == ["run", "--config", "/etc/aiops/config.yaml"]
    assert stage["EXPOSE"] == "9464"


def test_copied_sources_exist_and_nothing_is_fetched() -> None:
    """Every COPY source from the build context exists; no ADD of remote URLs."""
    steps = instructions(FILE.read_text())
    assert not any(w == "ADD" for w, _ in steps)
    for word, args in steps:
        if word == "COPY" and not args.startswith("--from"):
            for src in args.split()[:-1]:
                assert (ROOT / src).exists(), src
