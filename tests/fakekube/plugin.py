"""Pytest fixtures and object builders for tests that talk to the fake API server.

Import the fixtures into a test module (``from tests.fakekube.plugin import fakekube``)
or a conftest; ``fakekube`` is a fresh, empty server per test and ``kubectl`` the real
kubectl pointed at it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakekube.kubectl import Kubectl
from tests.fakekube.server import FakeKube, running


@pytest.fixture
def fakekube() -> Iterator[FakeKube]:
    """A fresh fake Kubernetes API server on 127.0.0.1, stopped after the test."""
    yield from running()


@pytest.fixture
def kubectl(fakekube: FakeKube, tmp_path: Path) -> Kubectl:
    """The real kubectl, configured (kubeconfig, namespace ``shop``) for ``fakekube``."""
    return Kubectl(fakekube.url, tmp_path / "kubectl-home")


def deployment(
    name: str,
    *,
    namespace: str = "shop",
    replicas: int = 2,
    image: str = "registry.example/app:1.0",
    paused: bool = False,
) -> dict[str, Any]:
    """A minimal valid apps/v1 Deployment manifest."""
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {
            "replicas": replicas,
            "paused": paused,
            "selector": {"matchLabels": dict(labels)},
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
        },
    }


def statefulset(name: str, *, namespace: str = "shop", replicas: int = 2) -> dict[str, Any]:
    """A minimal valid apps/v1 StatefulSet manifest."""
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": replicas,
            "serviceName": name,
            "selector": {"matchLabels": dict(labels)},
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {"containers": [{"name": "db", "image": "registry.example/db:1"}]},
            },
        },
    }


def hpa(
    name: str,
    target: str,
    *,
    namespace: str = "shop",
    min_replicas: int = 2,
    max_replicas: int = 10,
    kind: str = "Deployment",
) -> dict[str, Any]:
    """An autoscaling/v2 HorizontalPodAutoscaler targeting a workload on CPU."""
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": kind, "name": target},
            "minReplicas": min_replicas,
            "maxReplicas": max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 70},
                    },
                }
            ],
        },
    }


def roll_out(server: FakeKube, namespace: str, name: str, image: str) -> dict[str, Any]:
    """Change a Deployment's image as ``kubectl set image`` would; returns the new object."""
    dep = server.get("deployments", namespace, name)
    dep["spec"]["template"]["spec"]["containers"][0]["image"] = image
    return server.update("deployments", dep)
