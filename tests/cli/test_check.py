"""`aiops check` and `aiops run` refuse malformed runbooks with file:line and the field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

GOOD_STEP = "  steps:\n    - action: restart\n"
HEADER = "apiVersion: aiops/v1\nkind: Runbook\nmetadata: {name: broken}\nspec:\n"
TRIGGER = "  triggers:\n    - anomaly: {metric: memory_usage}\n"
TARGET = "  target: {kind: SandboxWorkload, namespace: shop, name: '{{ labels.workload }}'}\n"

CASES = {
    "bad-yaml": (HEADER + TRIGGER + "  target: {kind: SandboxWorkload, name: [x\n" + GOOD_STEP,
                 ":8:", "flow sequence at line 7"),
    "unknown-action": (HEADER + TRIGGER + TARGET + "  steps:\n    - action: reboot\n",
                       ":9:", "spec.steps[0]"),
    "missing-target": (HEADER + TRIGGER + GOOD_STEP, ":4:", "spec.target"),
}


def aiops(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aiops", *args], cwd=cwd, capture_output=True, text=True,
        timeout=60, check=False,
    )


def setup(tmp_path: Path, runbook: str) -> Path:
    (tmp_path / "runbooks").mkdir()
    (tmp_path / "runbooks" / "broken.yaml").write_text(runbook)
    cfg = tmp_path / "aiops.yaml"
    cfg.write_text("state_dir: state\nrunbooks: {paths: [runbooks]}\nhttp: {enabled: false}\n")
    return cfg


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("command", ["check", "run"])
def test_malformed_runbook_is_located(tmp_path: Path, case: str, command: str) -> None:
    """A malformed runbook fails the command with exit 2 and file:line: field: message."""
    text, line, needle = CASES[case]
    cfg = setup(tmp_path, text)
    args = ["run", "--once"] if command == "run" else ["check"]
    result = aiops(*args, "--config", str(cfg), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    err = " ".join(result.stderr.split())
    assert f"broken.yaml{line}" in err, err
    assert needle in err, err
    assert not (tmp_path / "state" / "journal.sqlite").exists()


def test_check_accepts_the_embedded_default() -> None:
    """The shipped sandbox config and its runbooks pass `aiops check`."""
    root = Path(__file__).resolve().parents[2]
    result = aiops("check", cwd=root)
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout and "runbook" in result.stdout
