"""The sandbox end-to-end run with the Kubernetes actuator against the fake API server.

Same faults, same runbooks (targets switched to Deployments), but every action goes through
KubernetesActuator and the real client over HTTP; :class:`SandboxBridge` lets the
simulation feel the changes. Each fault must be healed by the same kind of action, and the
cluster objects must look the way kubectl would have left them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from aiops.config import load_config
from aiops.daemon import Daemon, RunOptions
from tests.e2e.sandbox_config import RUNBOOKS, query, sandbox_config
from tests.fakekube.plugin import fakekube
from tests.fakekube.sandbox_bridge import SandboxBridge
from tests.fakekube.server import FakeKube

__all__ = ["fakekube"]

TWO_AND_A_HALF_HOURS = 2.5 * 3600
EXPECTED = {  # fault -> (runbook, workload, action that heals it)
    "cart-memory-leak": ("cart-memory-leak", "cart", "restart"),
    "checkout-bad-rollout": ("checkout-bad-rollout", "checkout", "rollback"),
    "frontend-traffic-surge": ("frontend-traffic-surge", "frontend", "scale"),
    "payments-crash-loop": ("payments-crash-loop", "payments", "restart"),
}


def _config(tmp: Path, url: str) -> Path:
    books = tmp / "runbooks"
    books.mkdir()
    for src in sorted(RUNBOOKS.glob("*.yaml")):
        text = src.read_text()
        assert "kind: SandboxWorkload" in text
        (books / src.name).write_text(text.replace("kind: SandboxWorkload", "kind: Deployment"))
    actuator = {"type": "kubernetes", "kubernetes": {"host": url, "backoff": 0.05}}
    return sandbox_config(tmp, runbooks=books, actuator=actuator)


@pytest.fixture(scope="module")
def healed(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, FakeKube, dict[str, Any], SandboxBridge]:
    from tests.fakekube.server import running

    tmp = tmp_path_factory.mktemp("k8s-sandbox")
    servers = running()
    server = next(servers)
    try:
        daemon = Daemon(load_config(_config(tmp, server.url)), RunOptions(stepped=True, http=False))
        bridge = SandboxBridge(server, daemon.source.world, daemon.clock.now).start()  # type: ignore[attr-defined]
        daemon.run_stepped(TWO_AND_A_HALF_HOURS)
        world = daemon.source.world.to_state()  # type: ignore[attr-defined]
        return tmp, server, world, bridge
    finally:
        next(servers, None)


@pytest.mark.slow
def test_every_fault_is_healed_through_the_kubernetes_api(
    healed: tuple[Path, FakeKube, dict[str, Any], SandboxBridge],
) -> None:
    """Each fault is healed within two hours by its runbook's action, applied via the API."""
    tmp, _server, world, bridge = healed
    faults = {f["name"]: f for f in world["faults"]}
    assert set(faults) == set(EXPECTED)
    by_id = {aid: (kind, name) for aid, kind, name in bridge.applied}
    for fault_name, (runbook, workload, action) in EXPECTED.items():
        fault = faults[fault_name]
        assert fault["healed_at"] is not None, f"{fault_name} was never healed"
        assert fault["healed_at"] - world["created_at"] <= 2 * 3600
        assert by_id[fault["healed_by"]] == (action, workload)
        incidents = query(tmp, "SELECT * FROM incidents WHERE runbook = ?", runbook)
        assert len(incidents) == 1 and incidents[0]["status"] == "resolved"
        assert incidents[0]["target"] == f"Deployment/shop/{workload}"
    assert len(bridge.applied) == len(EXPECTED)


@pytest.mark.slow
def test_cluster_objects_look_like_kubectl_left_them(
    healed: tuple[Path, FakeKube, dict[str, Any], SandboxBridge],
) -> None:
    """Restarts set restartedAt, the rollback restored revision 1's template as revision 3,
    catalog is untouched, and each action left an Event."""
    _, server, _, bridge = healed
    deps = {d["metadata"]["name"]: d for d in server.list("deployments", "shop")}
    for name in ("cart", "payments"):
        notes = deps[name]["spec"]["template"]["metadata"].get("annotations", {})
        assert "kubectl.kubernetes.io/restartedAt" in notes
    checkout = deps["checkout"]
    revs = {
        rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]: rs
        for rs in server.list("replicasets", "shop")
        if rs["metadata"]["name"].startswith("checkout-")
    }
    assert set(revs) == {"2", "3"}
    assert checkout["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    assert checkout["metadata"]["annotations"]["aiops.dev/rolled-back-from"] == "2"
    restored = dict(revs["3"]["spec"]["template"])
    restored["metadata"] = {"labels": {"app": "checkout"}}
    assert checkout["spec"]["template"] == restored
    assert "kubectl.kubernetes.io/restartedAt" not in str(deps["catalog"])
    assert deps["catalog"]["metadata"]["generation"] == 1
    events = server.list("events", "shop")
    assert sorted(e["involvedObject"]["name"] for e in events) == sorted(
        name for _, _, name in bridge.applied
    )
    assert all("incident " in e["message"] for e in events)
