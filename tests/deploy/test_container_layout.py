"""The container image's file tree, laid out in a temporary root, runs as documented.

The final stage's COPY/RUN mkdir/VOLUME/WORKDIR instructions are replayed into a temp
root (the Python environment itself is this checkout's). There ``aiops check`` and
``aiops run --once`` must succeed with the image's own config, writing only the state
volume (``/var/lib/aiops``) and ``/tmp``; the HTTP server must listen on every interface
and refuse webhooks without the token; a missing token must be a one-line start-up error.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.deploy.test_containerfile import FILE, instructions
from tests.paths import ROOT

TOKEN = "container-test-token"


def _final_stage() -> list[tuple[str, str]]:
    steps = instructions(FILE.read_text())
    last = max(i for i, (w, _) in enumerate(steps) if w == "FROM")
    return steps[last:]


def lay_out(root: Path) -> Path:
    """Replay the final stage into ``root``; returns the WORKDIR inside it."""
    workdir = root
    for word, args in _final_stage():
        if word == "COPY" and not args.startswith("--"):
            *sources, dest = args.split()
            for src in sources:
                target = root / dest.lstrip("/")
                if (ROOT / src).is_dir():
                    shutil.copytree(ROOT / src, target, dirs_exist_ok=True,
                                    ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(ROOT / src, target)
        elif word == "RUN" and args.startswith("mkdir -p "):
            for path in args.split("&&")[0].split()[2:]:
                (root / path.lstrip("/")).mkdir(parents=True, exist_ok=True)
        elif word == "VOLUME":
            for path in json.loads(args):
                (root / path.lstrip("/")).mkdir(parents=True, exist_ok=True)
        elif word == "WORKDIR":
            workdir = root / args.lstrip("/")
            workdir.mkdir(parents=True, exist_ok=True)
    (root / "tmp").mkdir(exist_ok=True)
    return workdir


def _snapshot(root: Path) -> dict[str, str]:
    """Digest of every file outside the writable paths."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not rel.startswith(("var/lib/aiops/", "tmp/")):
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _aiops(workdir: Path, root: Path, *args: str, **kw: object) -> subprocess.Popen[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(root / "tmp"),
           "MPLCONFIGDIR": str(root / "tmp" / "matplotlib"), "PYTHONDONTWRITEBYTECODE": "1",
           "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "aiops", *args], cwd=workdir, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **kw)  # type: ignore[call-overload]


def _run(workdir: Path, root: Path, *args: str) -> tuple[int, str, str]:
    proc = _aiops(workdir, root, *args)
    out, err = proc.communicate(timeout=300)
    return proc.returncode, out, err


@pytest.fixture
def image(tmp_path: Path) -> tuple[Path, Path]:
    """(root, workdir) of the laid-out image, with the token secret mounted."""
    root = tmp_path / "root"
    workdir = lay_out(root)
    secret = root / "run" / "secrets" / "aiops-token"
    secret.parent.mkdir(parents=True)
    secret.write_text(TOKEN + "\n")
    return root, workdir


def test_check_and_one_cycle_run_in_the_image_layout(image: tuple[Path, Path]) -> None:
    """check passes with the image's config; --once runs a cycle and writes only the volume."""
    root, workdir = image
    config = str(root / "etc" / "aiops" / "config.yaml")
    before = _snapshot(root)
    code, out, err = _run(workdir, root, "check", "--config", config)
    assert code == 0, err
    assert "5 runbook(s)" in out and "source sandbox" in out
    code, out, err = _run(workdir, root, "run", "--once", "--config", config)
    assert code == 0, err
    assert (root / "var" / "lib" / "aiops" / "journal.sqlite").is_file()
    assert _snapshot(root) == before  # a read-only root would have been fine
    assert (root / "etc" / "aiops" / "examples" / "prometheus-kubernetes.yaml").is_file()


def test_missing_token_is_a_one_line_start_up_error(image: tuple[Path, Path]) -> None:
    """Without the secret the daemon refuses to start, naming the token file, no traceback."""
    root, workdir = image
    (root / "run" / "secrets" / "aiops-token").unlink()
    code, _, err = _run(workdir, root, "run", "--once", "--config",
                        str(root / "etc" / "aiops" / "config.yaml"))
    assert code == 2
    assert "Traceback" not in err
    [line] = err.strip().splitlines()
    assert "run/secrets/aiops-token" in line and "cannot read token file" in line


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serves_on_all_interfaces_and_requires_the_token(image: tuple[Path, Path]) -> None:
    """The daemon binds 0.0.0.0; a webhook without (or with a wrong) token gets 401."""
    root, workdir = image
    port = _free_port()
    proc = _aiops(workdir, root, "run", "--config", str(root / "etc" / "aiops" / "config.yaml"),
                  "--port", str(port))
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.communicate()[1]
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the daemon did not serve /healthz"
            time.sleep(0.2)
        bound = {c.laddr.ip for c in psutil.Process(proc.pid).net_connections("inet")
                 if c.status == psutil.CONN_LISTEN and c.laddr.port == port}
        assert bound == {"0.0.0.0"}
        body = {"version": "4", "status": "firing", "alerts": []}
        assert httpx.post(f"{base}/v1/alerts", json=body).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert httpx.post(f"{base}/v1/alerts", json=body, headers=wrong).status_code == 401
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
