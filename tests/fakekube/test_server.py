"""The fake API server behaves like the real one for what the actuators rely on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.fakekube.plugin import deployment, fakekube, roll_out
from tests.fakekube.server import FakeKube, Fault

__all__ = ["fakekube"]


@pytest.fixture
def apps(fakekube: FakeKube) -> Iterator[client.AppsV1Api]:
    cfg = client.Configuration(host=fakekube.url)
    cfg.retries = False  # urllib3 would otherwise honour Retry-After itself
    with client.ApiClient(cfg) as api:
        yield client.AppsV1Api(api)


def _raw(resp: Any) -> dict[str, Any]:
    return dict(json.loads(resp.data))


def test_create_makes_replicaset_with_revision(fakekube: FakeKube, apps: client.AppsV1Api) -> None:
    """Creating a Deployment yields revision 1, one ReplicaSet with the hash label, and pods."""
    apps.create_namespaced_deployment("shop", deployment("web", replicas=3))
    dep = apps.read_namespaced_deployment("web", "shop")
    assert dep.metadata.annotations["deployment.kubernetes.io/revision"] == "1"
    assert dep.status.observed_generation == dep.metadata.generation == 1
    rss = apps.list_namespaced_replica_set("shop").items
    assert len(rss) == 1
    rs = rss[0]
    assert rs.metadata.name == f"web-{rs.metadata.labels['pod-template-hash']}"
    assert rs.metadata.annotations["deployment.kubernetes.io/revision"] == "1"
    assert len(fakekube.list("pods", "shop")) == 3


def test_template_change_creates_next_revision(fakekube: FakeKube, apps: client.AppsV1Api) -> None:
    """A new pod template makes revision 2 and scales the old ReplicaSet to zero."""
    fakekube.create("deployments", deployment("web"))
    roll_out(fakekube, "shop", "web", "registry.example/app:2.0")
    revs = sorted(
        (rs.metadata.annotations["deployment.kubernetes.io/revision"], rs.spec.replicas)
        for rs in apps.list_namespaced_replica_set("shop").items
    )
    assert revs == [("1", 0), ("2", 2)]
    dep = apps.read_namespaced_deployment("web", "shop")
    assert dep.metadata.annotations["deployment.kubernetes.io/revision"] == "2"
    assert dep.metadata.generation == 2


def test_stale_resource_version_conflicts(fakekube: FakeKube, apps: client.AppsV1Api) -> None:
    """A replace carrying an old resourceVersion gets 409 and changes nothing."""
    fakekube.create("deployments", deployment("web"))
    old = apps.read_namespaced_deployment("web", "shop")
    fakekube.update("deployments", fakekube.get("deployments", "shop", "web"))
    old.spec.replicas = 7
    with pytest.raises(ApiException) as e:
        apps.replace_namespaced_deployment("web", "shop", old)
    assert e.value.status == 409
    assert fakekube.get("deployments", "shop", "web")["spec"]["replicas"] == 2


def test_scale_subresource_and_dry_run(fakekube: FakeKube, apps: client.AppsV1Api) -> None:
    """The scale subresource changes spec.replicas; dryRun=All answers but persists nothing."""
    fakekube.create("deployments", deployment("web"))
    out = apps.patch_namespaced_deployment_scale(
        "web", "shop", {"spec": {"replicas": 5}}, dry_run="All"
    )
    assert out.spec.replicas == 5
    assert fakekube.get("deployments", "shop", "web")["spec"]["replicas"] == 2
    apps.patch_namespaced_deployment_scale("web", "shop", {"spec": {"replicas": 5}})
    assert apps.read_namespaced_deployment_scale("web", "shop").spec.replicas == 5
    assert len(fakekube.list("pods", "shop")) == 5


def test_json_patch_and_strategic_merge(fakekube: FakeKube, apps: client.AppsV1Api) -> None:
    """JSON patch replaces paths; strategic merge merges containers by name."""
    fakekube.create("deployments", deployment("web"))
    api = apps.api_client
    apps.patch_namespaced_deployment(
        "web",
        "shop",
        {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "x:2"}]}}}},
    )
    dep = fakekube.get("deployments", "shop", "web")
    assert dep["spec"]["template"]["spec"]["containers"] == [{"name": "app", "image": "x:2"}]
    api.set_default_header("X-Test", "1")
    apps.patch_namespaced_deployment(
        "web", "shop", [{"op": "replace", "path": "/metadata/labels", "value": {"tier": "front"}}]
    )
    assert fakekube.get("deployments", "shop", "web")["metadata"]["labels"] == {"tier": "front"}
    assert fakekube.log[-1].content_type == "application/json-patch+json"


def test_faults_fire_then_disarm(fakekube: FakeKube, apps: client.AppsV1Api) -> None:
    """An injected 429 answers the next matching request only, with Retry-After."""
    fakekube.create("deployments", deployment("web"))
    fakekube.inject(Fault(path="/deployments/web$", method="GET", status=429, retry_after="2"))
    with pytest.raises(ApiException) as e:
        apps.read_namespaced_deployment("web", "shop")
    assert e.value.status == 429
    assert e.value.headers["Retry-After"] == "2"
    assert apps.read_namespaced_deployment("web", "shop").metadata.name == "web"
    assert [r.status for r in fakekube.log] == [429, 200]


def test_after_commit_fault_persists(fakekube: FakeKube, apps: client.AppsV1Api) -> None:
    """An after-commit 500 reports failure although the write was stored (a lost response)."""
    fakekube.create("deployments", deployment("web"))
    fakekube.inject(Fault(path="/scale$", method="PATCH", status=500, after_commit=True))
    with pytest.raises(ApiException):
        apps.patch_namespaced_deployment_scale("web", "shop", {"spec": {"replicas": 4}})
    assert fakekube.get("deployments", "shop", "web")["spec"]["replicas"] == 4


def test_lease_and_event_crud(fakekube: FakeKube) -> None:
    """Leases and Events can be created, read back, and names collide with 409."""
    with client.ApiClient(client.Configuration(host=fakekube.url)) as api:
        coord = client.CoordinationV1Api(api)
        body = {
            "metadata": {"name": "aiops"},
            "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15},
        }
        coord.create_namespaced_lease("ops", body)
        assert coord.read_namespaced_lease("aiops", "ops").spec.holder_identity == "a"
        with pytest.raises(ApiException) as e:
            coord.create_namespaced_lease("ops", body)
        assert e.value.status == 409
        core = client.CoreV1Api(api)
        ev = {
            "metadata": {"name": "web.1"},
            "involvedObject": {"kind": "Deployment", "name": "web"},
            "reason": "Test",
            "message": "m",
            "type": "Normal",
        }
        core.create_namespaced_event("shop", ev)
        assert [x.reason for x in core.list_namespaced_event("shop").items] == ["Test"]
