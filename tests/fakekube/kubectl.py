"""Run the real ``kubectl`` against the fake API server through a generated kubeconfig.

``kubectl`` comes from the system (Debian's ``kubernetes-client``; ``make debs`` installs
it when none is on ``PATH``). Each :class:`Kubectl` has its own kubeconfig, default
namespace and ``HOME`` (so the discovery cache never outlives the server), and runs in UTC
so the timestamps it writes are comparable with the actuator's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

TIMEOUT = 60.0


def kubectl_binary() -> str:
    """The kubectl on PATH; a test that needs it fails (never skips) when there is none."""
    found = shutil.which("kubectl")
    if found is None:
        pytest.fail("kubectl is not on PATH: run `make debs` (installs Debian's "
                    "kubernetes-client) or put a kubectl on PATH")
    return found


def write_kubeconfig(path: Path, server: str, namespace: str) -> Path:
    """A kubeconfig with one cluster (``server``), a token user and ``namespace`` as default."""
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "fakekube", "cluster": {"server": server}}],
        "users": [{"name": "tester", "user": {"token": "fakekube-token"}}],
        "contexts": [{"name": "fakekube", "context": {
            "cluster": "fakekube", "user": "tester", "namespace": namespace}}],
        "current-context": "fakekube",
        "preferences": {},
    }
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return path


@dataclass(frozen=True, kw_only=True)
class Result:
    """What one kubectl run printed, and how it exited."""

    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


class Kubectl:
    """``kubectl`` bound to one server and namespace."""

    def __init__(self, server: str, home: Path, namespace: str = "shop") -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.binary = kubectl_binary()
        self.kubeconfig = write_kubeconfig(home / "kubeconfig", server, namespace)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "KUBECONFIG": str(self.kubeconfig),
            "TZ": "UTC",
        }

    def run(self, *args: str, ok: bool = True) -> Result:
        """Run ``kubectl args``; with ``ok`` a non-zero exit fails the test with its stderr."""
        proc = subprocess.run(
            [self.binary, *args], env=self.env, capture_output=True, text=True,
            timeout=TIMEOUT, check=False,
        )
        result = Result(args=args, code=proc.returncode, stdout=proc.stdout, stderr=proc.stderr)
        if ok and proc.returncode != 0:
            pytest.fail(f"kubectl {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
        return result
