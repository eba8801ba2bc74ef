"""The fake API server behaves like the real one for what the actuators rely on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
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
    changed = fakekube.get("deployments", "shop", "web")
    changed["metadata"]["labels"]["edited"] = "yes"  # a write that changes nothing keeps the rv
    fakekube.update("deployments", changed)
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
    """JSON patch replaces paths; strategic merge merges containers by name (kept defaults)."""
    fakekube.create("deployments", deployment("web"))
    api = apps.api_client
    apps.patch_namespaced_deployment(
        "web",
        "shop",
        {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "x:2"}]}}}},
    )
    dep = fakekube.get("deployments", "shop", "web")
    [container] = dep["spec"]["template"]["spec"]["containers"]
    assert (container["name"], container["image"]) == ("app", "x:2")
    assert container["terminationMessagePath"] == "/dev/termination-log"
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


def test_invalid_object_is_422_with_status_causes(
    fakekube: FakeKube, apps: client.AppsV1Api
) -> None:
    """A type error answers 422 with a Status naming each field; later reads still work."""
    fakekube.create("deployments", deployment("web"))
    resp = httpx.patch(
        f"{fakekube.url}/apis/apps/v1/namespaces/shop/deployments/web",
        headers={"Content-Type": "application/merge-patch+json"},
        content=json.dumps({"spec": {"replicas": "abc", "paused": "no"}}),
    )
    assert resp.status_code == 422
    status = resp.json()
    assert (status["kind"], status["reason"], status["code"]) == ("Status", "Invalid", 422)
    assert [c["field"] for c in status["details"]["causes"]] == ["spec.paused", "spec.replicas"]
    assert status["message"].startswith('Deployment.apps "web" is invalid: [spec.paused: ')
    assert apps.read_namespaced_deployment("web", "shop").spec.replicas == 2


def test_create_validates_required_fields_and_selector(fakekube: FakeKube) -> None:
    """A Deployment without a template, or whose selector misses its labels, is refused."""
    url = f"{fakekube.url}/apis/apps/v1/namespaces/shop/deployments"
    body = deployment("web")
    del body["spec"]["template"]
    resp = httpx.post(url, json=body)
    assert resp.status_code == 422 and "spec.template: Required value" in resp.text
    body = deployment("web")
    body["spec"]["selector"]["matchLabels"] = {"app": "other"}
    resp = httpx.post(url, json=body)
    assert resp.status_code == 422
    assert "`selector` does not match template `labels`" in resp.json()["message"]
    assert fakekube.list("deployments", "shop") == []


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        ({"spec": {"template": {"spec": {"containers": [
            {"$patch": "replace"}, {"name": "solo", "image": "s:1"}]}}}}, ["solo"]),
        ({"spec": {"template": {"spec": {"containers": [{"name": "b", "$patch": "delete"}]}}}},
         ["a"]),
        ({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
            "containers": [{"name": "a", "image": "a:2"}]}}}}, ["b", "a"]),
    ],
)
def test_strategic_patch_directives(
    fakekube: FakeKube, apps: client.AppsV1Api, patch: dict[str, Any], expected: list[str]
) -> None:
    """$patch: replace / delete and $setElementOrder act on the containers list."""
    dep = deployment("web")
    dep["spec"]["template"]["spec"]["containers"] = [
        {"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]
    fakekube.create("deployments", dep)
    apps.patch_namespaced_deployment("web", "shop", patch)
    got = fakekube.get("deployments", "shop", "web")["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in got] == expected


def test_retain_keys_and_primitive_list_directives(
    fakekube: FakeKube, apps: client.AppsV1Api
) -> None:
    """$retainKeys clears the strategy fields not kept; $deleteFromPrimitiveList removes."""
    dep = deployment("web")
    dep["metadata"]["finalizers"] = ["x/a", "x/b"]
    fakekube.create("deployments", dep)
    apps.patch_namespaced_deployment("web", "shop", {
        "metadata": {"$deleteFromPrimitiveList/finalizers": ["x/a"]},
        "spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}},
    })
    got = fakekube.get("deployments", "shop", "web")
    assert got["metadata"]["finalizers"] == ["x/b"]
    assert got["spec"]["strategy"] == {"type": "Recreate"}


def test_merge_keys_come_from_the_openapi_schemas() -> None:
    """The schema reader finds Kubernetes' own merge keys and strategies for pod fields."""
    from tests.fakekube.schemas import schemas

    pod = schemas().kind("v1", "Pod").field("spec")
    container = pod.field("containers").items()
    found = {
        "containers": (pod.field("containers").patch_strategy, pod.field("containers").merge_key),
        "volumes": (pod.field("volumes").patch_strategy, pod.field("volumes").merge_key),
        "ports": (container.field("ports").patch_strategy, container.field("ports").merge_key),
        "volumeMounts": (container.field("volumeMounts").patch_strategy,
                         container.field("volumeMounts").merge_key),
        "args": (container.field("args").patch_strategy, container.field("args").merge_key),
        "tolerations": (pod.field("tolerations").patch_strategy,
                        pod.field("tolerations").merge_key),
    }
    assert found == {
        "containers": (("merge",), "name"),
        "volumes": (("merge", "retainKeys"), "name"),
        "ports": (("merge",), "containerPort"),
        "volumeMounts": (("merge",), "mountPath"),
        "args": ((), None),
        "tolerations": ((), None),
    }


def test_watch_streams_changes_for_a_field_selector(fakekube: FakeKube) -> None:
    """A watch sends ADDED for existing objects, then MODIFIED after a write, one per line."""
    fakekube.create("deployments", deployment("web"))
    fakekube.create("deployments", deployment("api"))
    url = f"{fakekube.url}/apis/apps/v1/namespaces/shop/deployments"
    events: list[dict[str, Any]] = []
    with httpx.stream("GET", url, params={"watch": "true", "timeoutSeconds": "5",
                                          "fieldSelector": "metadata.name=web"}) as resp:
        lines = resp.iter_lines()
        events.append(json.loads(next(lines)))
        dep = fakekube.get("deployments", "shop", "web")
        dep["spec"]["replicas"] = 3
        fakekube.update("deployments", dep)
        while events[-1]["object"]["spec"]["replicas"] != 3:
            events.append(json.loads(next(lines)))
    assert events[0]["type"] == "ADDED"
    assert events[-1]["type"] == "MODIFIED"
    assert {e["object"]["metadata"]["name"] for e in events} == {"web"}
