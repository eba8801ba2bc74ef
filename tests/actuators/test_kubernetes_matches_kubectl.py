"""The Kubernetes actuator leaves the same objects as real kubectl for scale, restart, undo.

The same Deployment history is built in two namespaces of one fake API server; kubectl
acts in one, the actuator (through the real client, configured from the same kubeconfig)
in the other, and the Deployments and ReplicaSets must then agree: specs, templates,
revisions, revision history, replica counts. Only what must differ is set aside: the
actuator's own ``aiops.dev/*`` bookkeeping annotations and the instant ``restartedAt``
records (each must be an RFC 3339 time).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from aiops.actuators.kubernetes import KubernetesActuator
from aiops.config.actuators import KubernetesConfig
from aiops.model import Action, OutcomeStatus, Target
from tests.fakekube.kubectl import Kubectl
from tests.fakekube.plugin import deployment, fakekube, statefulset
from tests.fakekube.server import FakeKube

__all__ = ["fakekube"]

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
REVISION = "deployment.kubernetes.io/revision"
HASH = "pod-template-hash"


@pytest.fixture
def pair(fakekube: FakeKube, tmp_path: Path) -> Iterator[tuple[Kubectl, KubernetesActuator]]:
    """kubectl on namespace ``by-kubectl``; the actuator from the same kubeconfig."""
    ctl = Kubectl(fakekube.url, tmp_path / "home", namespace="by-kubectl")
    act = KubernetesActuator(KubernetesConfig(kubeconfig=str(ctl.kubeconfig), backoff=0.01))
    yield ctl, act
    act.close()


def _history(server: FakeKube, *images: str) -> None:
    """A Deployment ``web`` in both namespaces, rolled out through ``images``."""
    for ns in ("by-kubectl", "by-aiops"):
        server.create("deployments", deployment("web", namespace=ns, image=images[0]))
        for image in images[1:]:
            dep = server.get("deployments", ns, "web")
            dep["spec"]["template"]["spec"]["containers"][0]["image"] = image
            server.update("deployments", dep)


def _act(act: KubernetesActuator, kind: str, **params: Any) -> None:
    target = Target(kind="Deployment", namespace="by-aiops", name="web")
    out = act.apply(Action(id=f"{kind}-1", kind=kind, target=target, params=params,
                           incident="inc-1"), now=time.time())
    assert out.status is OutcomeStatus.DONE, out.message


def _untimed(template: dict[str, Any]) -> dict[str, Any]:
    t = copy.deepcopy(template)
    t["metadata"].get("labels", {}).pop(HASH, None)
    notes = t["metadata"].get("annotations") or {}
    if RESTARTED_AT in notes:
        datetime.fromisoformat(notes[RESTARTED_AT].replace("Z", "+00:00"))  # RFC 3339
        notes[RESTARTED_AT] = "<time>"
    return t


def _state(server: FakeKube, ns: str) -> dict[str, Any]:
    dep = server.get("deployments", ns, "web")
    notes = {k: v for k, v in dep["metadata"].get("annotations", {}).items()
             if not k.startswith("aiops.dev/")}
    replicasets = sorted(
        (
            {
                "revision": int(rs["metadata"]["annotations"][REVISION]),
                "history": rs["metadata"]["annotations"].get(
                    "deployment.kubernetes.io/revision-history"),
                "replicas": rs["spec"]["replicas"],
                "named_by_hash": rs["metadata"]["name"]
                == f"web-{rs['metadata']['labels'][HASH]}",
                "template": _untimed(rs["spec"]["template"]),
            }
            for rs in server.list("replicasets", ns)
        ),
        key=lambda r: r["revision"],
    )
    spec = {**dep["spec"], "template": _untimed(dep["spec"]["template"])}
    return {
        "spec": spec,
        "annotations": notes,
        "generation": dep["metadata"]["generation"],
        "replicasets": replicasets,
        "pods": len(server.list("pods", ns)),
    }


def test_scale_matches_kubectl_scale(
    fakekube: FakeKube, pair: tuple[Kubectl, KubernetesActuator]
) -> None:
    """scale to 5 == `kubectl scale deployment/web --replicas=5`."""
    ctl, act = pair
    _history(fakekube, "app:1")
    ctl.run("scale", "deployment/web", "--replicas=5")
    _act(act, "scale", replicas=5)
    assert _state(fakekube, "by-aiops") == _state(fakekube, "by-kubectl")
    assert _state(fakekube, "by-aiops")["spec"]["replicas"] == 5


def test_restart_matches_kubectl_rollout_restart(
    fakekube: FakeKube, pair: tuple[Kubectl, KubernetesActuator]
) -> None:
    """restart == `kubectl rollout restart deployment/web` (a new revision, restartedAt set)."""
    ctl, act = pair
    _history(fakekube, "app:1")
    ctl.run("rollout", "restart", "deployment/web")
    _act(act, "restart")
    theirs, ours = _state(fakekube, "by-kubectl"), _state(fakekube, "by-aiops")
    assert ours == theirs
    assert [r["revision"] for r in ours["replicasets"]] == [1, 2]


def test_rollback_matches_kubectl_rollout_undo(
    fakekube: FakeKube, pair: tuple[Kubectl, KubernetesActuator]
) -> None:
    """rollback == `kubectl rollout undo deployment/web`: revision 2 revived as revision 4."""
    ctl, act = pair
    _history(fakekube, "app:1", "app:2", "app:3")
    ctl.run("rollout", "undo", "deployment/web")
    _act(act, "rollback")
    theirs, ours = _state(fakekube, "by-kubectl"), _state(fakekube, "by-aiops")
    assert ours == theirs
    assert [(r["revision"], r["history"]) for r in ours["replicasets"]] == [
        (1, None), (3, None), (4, "2")
    ]
    assert ours["spec"]["template"]["spec"]["containers"][0]["image"] == "app:2"


def test_statefulset_restart_and_scale_match_kubectl(
    fakekube: FakeKube, pair: tuple[Kubectl, KubernetesActuator]
) -> None:
    """On a StatefulSet, restart and scale leave the same spec and generation as kubectl."""
    ctl, act = pair
    for ns in ("by-kubectl", "by-aiops"):
        fakekube.create("statefulsets", statefulset("db", namespace=ns))
    ctl.run("rollout", "restart", "statefulset/db")
    ctl.run("scale", "statefulset/db", "--replicas=4")
    target = Target(kind="StatefulSet", namespace="by-aiops", name="db")
    for n, (kind, params) in enumerate((("restart", {}), ("scale", {"replicas": 4}))):
        out = act.apply(Action(id=f"sts-{n}", kind=kind, target=target, params=params,
                               incident="inc-2"), now=time.time())
        assert out.status is OutcomeStatus.DONE, out.message

    def state(ns: str) -> tuple[Any, ...]:
        sts = fakekube.get("statefulsets", ns, "db")
        spec = {**sts["spec"], "template": _untimed(sts["spec"]["template"])}
        return spec, sts["metadata"]["generation"], len(fakekube.list("pods", ns))

    assert state("by-aiops") == state("by-kubectl")
    assert state("by-aiops")[0]["replicas"] == 4
