"""The real kubectl believes the fake API server: discovery, get, scale, rollout, patch."""

from __future__ import annotations

import json
import threading
from typing import Any

from tests.fakekube.kubectl import Kubectl
from tests.fakekube.plugin import deployment, fakekube, kubectl, roll_out, statefulset
from tests.fakekube.server import FakeKube

__all__ = ["fakekube", "kubectl"]

REVISION = "deployment.kubernetes.io/revision"


def _by_revision(server: FakeKube) -> dict[int, dict[str, Any]]:
    return {
        int(rs["metadata"]["annotations"][REVISION]): rs
        for rs in server.list("replicasets", "shop")
    }


def _image(obj: dict[str, Any]) -> str:
    return str(obj["spec"]["template"]["spec"]["containers"][0]["image"])


def test_discovery_lists_resources_and_version(kubectl: Kubectl) -> None:
    """api-resources shows the served kinds with short names; version shows the server's."""
    out = kubectl.run("api-resources", "--no-headers").stdout
    rows = {line.split()[0]: line.split() for line in out.splitlines()}
    assert {"deployments", "replicasets", "statefulsets", "pods", "events", "leases",
            "horizontalpodautoscalers"} <= set(rows)
    assert rows["deployments"][1:] == ["deploy", "apps/v1", "true", "Deployment"]
    assert rows["horizontalpodautoscalers"][2] == "autoscaling/v2"
    version = kubectl.run("version", "-o", "json").json()
    assert version["serverVersion"]["gitVersion"].startswith("v1.")


def test_get_prints_tables_and_objects(fakekube: FakeKube, kubectl: Kubectl) -> None:
    """get prints kubectl's columns, -o wide adds images, -o json is the stored object."""
    fakekube.create("deployments", deployment("web", replicas=3, image="app:1"))
    fakekube.create("statefulsets", statefulset("db"))
    header, row = kubectl.run("get", "deployments").stdout.splitlines()
    assert header.split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert row.split()[:4] == ["web", "3/3", "3", "3"]
    wide = kubectl.run("get", "deploy", "web", "-o", "wide").stdout.splitlines()[1].split()
    assert wide[5:] == ["app", "app:1", "app=web"]
    assert kubectl.run("get", "sts", "--no-headers").stdout.split()[:2] == ["db", "2/2"]
    pods = kubectl.run("get", "pods", "-l", "app=web", "-o", "name").stdout.split()
    assert len(pods) == 3 and all(p.startswith("pod/web-") for p in pods)
    got = kubectl.run("get", "deployment", "web", "-o", "json").json()
    assert got == fakekube.get("deployments", "shop", "web")
    everywhere = kubectl.run("get", "deploy", "-A", "--no-headers").stdout.split()
    assert everywhere[:2] == ["shop", "web"]
    missing = kubectl.run("get", "deploy", "nope", ok=False)
    assert missing.code == 1 and "NotFound" in missing.stderr


def test_scale_changes_replicas_through_the_subresource(
    fakekube: FakeKube, kubectl: Kubectl
) -> None:
    """kubectl scale patches deployments/scale; the controller follows with pods."""
    fakekube.create("deployments", deployment("web", replicas=2))
    out = kubectl.run("scale", "deployment/web", "--replicas=5").stdout
    assert out.strip() == "deployment.apps/web scaled"
    assert fakekube.get("deployments", "shop", "web")["spec"]["replicas"] == 5
    assert len(fakekube.list("pods", "shop")) == 5
    [write] = fakekube.writes("/scale$")
    assert write.method == "PATCH"
    stale = kubectl.run("scale", "deployment/web", "--replicas=1", "--current-replicas=2",
                        ok=False)
    assert stale.code == 1
    assert fakekube.get("deployments", "shop", "web")["spec"]["replicas"] == 5


def test_rollout_restart_makes_a_new_revision(fakekube: FakeKube, kubectl: Kubectl) -> None:
    """rollout restart stamps restartedAt on the template: a new ReplicaSet, revision 2."""
    fakekube.create("deployments", deployment("web"))
    assert kubectl.run("rollout", "restart", "deployment/web").stdout.strip() == (
        "deployment.apps/web restarted"
    )
    dep = fakekube.get("deployments", "shop", "web")
    notes = dep["spec"]["template"]["metadata"]["annotations"]
    assert notes["kubectl.kubernetes.io/restartedAt"].endswith("Z")
    assert dep["metadata"]["generation"] == 2
    revs = _by_revision(fakekube)
    assert sorted((r, rs["spec"]["replicas"]) for r, rs in revs.items()) == [(1, 0), (2, 2)]


def test_rollout_undo_revives_the_previous_replicaset(
    fakekube: FakeKube, kubectl: Kubectl
) -> None:
    """rollout undo puts revision 1's template back and revives its ReplicaSet as revision 3."""
    fakekube.create("deployments", deployment("web", image="app:1"))
    first = _by_revision(fakekube)[1]["metadata"]["name"]
    roll_out(fakekube, "shop", "web", "app:2")
    assert kubectl.run("rollout", "undo", "deployment/web").stdout.strip() == (
        "deployment.apps/web rolled back"
    )
    dep = fakekube.get("deployments", "shop", "web")
    assert _image(dep) == "app:1"
    assert dep["metadata"]["annotations"][REVISION] == "3"
    revs = _by_revision(fakekube)
    assert sorted(revs) == [2, 3]
    assert revs[3]["metadata"]["name"] == first
    assert revs[3]["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"
    assert revs[3]["spec"]["replicas"] == 2 and revs[2]["spec"]["replicas"] == 0


def test_rollout_undo_to_revision_and_history(fakekube: FakeKube, kubectl: Kubectl) -> None:
    """history lists revisions with change-cause; undo --to-revision picks one exactly."""
    fakekube.create("deployments", deployment("web", image="app:1"))
    for image in ("app:2", "app:3"):
        dep = fakekube.get("deployments", "shop", "web")
        dep["metadata"].setdefault("annotations", {})["kubernetes.io/change-cause"] = image
        dep["spec"]["template"]["spec"]["containers"][0]["image"] = image
        fakekube.update("deployments", dep)
    lines = kubectl.run("rollout", "history", "deployment/web").stdout.splitlines()
    table = [line.split() for line in lines[2:] if line.strip()]
    assert table == [["1", "<none>"], ["2", "app:2"], ["3", "app:3"]]
    shown = kubectl.run("rollout", "history", "deployment/web", "--revision=2").stdout
    assert shown.startswith("deployment.apps/web with revision #2")
    assert "Image:\tapp:2" in shown
    kubectl.run("rollout", "undo", "deployment/web", "--to-revision=1")
    assert _image(fakekube.get("deployments", "shop", "web")) == "app:1"
    assert sorted(_by_revision(fakekube)) == [2, 3, 4]
    same = kubectl.run("rollout", "undo", "deployment/web", "--to-revision=4", ok=False)
    assert "skipped rollback" in same.stdout + same.stderr


def test_rollout_status_watches_until_the_rollout_finishes(
    fakekube: FakeKube, kubectl: Kubectl
) -> None:
    """rollout status waits on a watch (field selector on the name) and ends when a
    MODIFIED event shows the updated replicas available."""
    fakekube.create("deployments", deployment("web"))
    fakekube.controller.rollout_seconds = 600.0  # only the test finishes it
    kubectl.run("rollout", "restart", "deployment/web")
    done = threading.Event()
    result: list[str] = []

    def watch() -> None:
        result.append(kubectl.run("rollout", "status", "deployment/web", "--timeout=60s").stdout)
        done.set()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    while not [r for r in fakekube.log if r.query.get("watch") == "true"]:
        assert thread.is_alive()
        done.wait(0.05)
    assert not done.is_set()
    with fakekube.store.lock:
        fakekube.controller.finish_rollouts()
    assert done.wait(60)
    out = result[0]
    assert 'Waiting for deployment "web" rollout to finish' in out
    assert out.strip().endswith('deployment "web" successfully rolled out')
    watches = [r for r in fakekube.log if r.query.get("watch") == "true"]
    assert {r.query["fieldSelector"] for r in watches} == {"metadata.name=web"}


def _patch(kubectl: Kubectl, kind: str, patch: Any, *extra: str) -> str:
    return kubectl.run("patch", "deployment", "web", "--type", kind, "-p", json.dumps(patch),
                       *extra).stdout.strip()


def test_strategic_patch_uses_the_schema_merge_keys(fakekube: FakeKube, kubectl: Kubectl) -> None:
    """Strategic merge: containers by name, ports by containerPort, volumeMounts by
    mountPath, finalizers as a set, args replaced; $patch: delete removes one env var."""
    dep = deployment("web")
    container = dep["spec"]["template"]["spec"]["containers"][0]
    container.update(
        args=["--a"],
        ports=[{"name": "http", "containerPort": 80}],
        env=[{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
        volumeMounts=[{"name": "data", "mountPath": "/data"}],
    )
    dep["spec"]["template"]["spec"]["volumes"] = [{"name": "data", "emptyDir": {}}]
    dep["metadata"]["finalizers"] = ["example.com/a"]
    fakekube.create("deployments", dep)
    patch = {
        "metadata": {"finalizers": ["example.com/b"]},
        "spec": {"template": {"spec": {"containers": [{
            "name": "app",
            "args": ["--b"],
            "ports": [{"name": "http", "containerPort": 8080}],
            "env": [{"name": "B", "$patch": "delete"}],
            "volumeMounts": [{"name": "data", "mountPath": "/cache"}],
        }]}}},
    }
    assert _patch(kubectl, "strategic", patch) == "deployment.apps/web patched"
    got = fakekube.get("deployments", "shop", "web")
    [c] = got["spec"]["template"]["spec"]["containers"]
    assert c["args"] == ["--b"]
    assert [p["containerPort"] for p in c["ports"]] == [80, 8080]
    assert c["env"] == [{"name": "A", "value": "1"}]
    assert [m["mountPath"] for m in c["volumeMounts"]] == ["/data", "/cache"]
    assert got["metadata"]["finalizers"] == ["example.com/a", "example.com/b"]
    assert c["image"] == "registry.example/app:1.0"


def test_merge_and_json_patches(fakekube: FakeKube, kubectl: Kubectl) -> None:
    """A merge patch replaces lists whole; a JSON patch edits by path; a no-op says so."""
    fakekube.create("deployments", deployment("web"))
    merge = {"spec": {"template": {"spec": {"containers": [{"name": "new", "image": "n:1"}]}}}}
    _patch(kubectl, "merge", merge)
    [c] = fakekube.get("deployments", "shop", "web")["spec"]["template"]["spec"]["containers"]
    assert (c["name"], c["image"]) == ("new", "n:1")
    _patch(kubectl, "json", [{"op": "replace", "path": "/spec/replicas", "value": 4},
                             {"op": "add", "path": "/metadata/labels/tier", "value": "front"}])
    got = fakekube.get("deployments", "shop", "web")
    assert got["spec"]["replicas"] == 4 and got["metadata"]["labels"]["tier"] == "front"
    assert _patch(kubectl, "merge", {"spec": {"replicas": 4}}) == (
        "deployment.apps/web patched (no change)"
    )


def test_invalid_patch_is_refused_with_422_and_changes_nothing(
    fakekube: FakeKube, kubectl: Kubectl
) -> None:
    """replicas: "abc" (and a container without a name) are 422 Invalid naming the field."""
    fakekube.create("deployments", deployment("web"))
    before = fakekube.get("deployments", "shop", "web")
    bad = kubectl.run("patch", "deployment", "web", "--type", "merge", "-p",
                      '{"spec":{"replicas":"abc"}}', ok=False)
    assert bad.code == 1
    assert 'The Deployment "web" is invalid: spec.replicas: Invalid value: "abc"' in bad.stderr
    nameless = kubectl.run("patch", "deployment", "web", "--type", "json", "-p",
                           '[{"op":"remove","path":"/spec/template/spec/containers/0/name"}]',
                           ok=False)
    assert "spec.template.spec.containers[0].name: Required value" in nameless.stderr
    assert fakekube.get("deployments", "shop", "web") == before
    assert [r.status for r in fakekube.writes()] == [422, 422]
    assert kubectl.run("get", "deploy", "web", "--no-headers").stdout.split()[1] == "2/2"


def test_unknown_fields_warn_or_fail_per_field_validation(
    fakekube: FakeKube, kubectl: Kubectl
) -> None:
    """An unknown field is dropped with a warning by default, refused under Strict."""
    fakekube.create("deployments", deployment("web"))
    warned = kubectl.run("patch", "deployment", "web", "--type", "merge", "-p",
                         '{"spec":{"replica":3}}')
    assert 'unknown field "spec.replica"' in warned.stderr
    assert "replica" not in fakekube.get("deployments", "shop", "web")["spec"]
    manifest = deployment("api")
    manifest["spec"]["replica"] = 3
    path = kubectl.kubeconfig.parent / "api.json"
    path.write_text(json.dumps(manifest))
    strict = kubectl.run("create", "-f", str(path), "--validate=strict", ok=False)
    assert strict.code == 1 and 'unknown field "spec.replica"' in strict.stderr
    assert fakekube.list("deployments", "shop")[0]["metadata"]["name"] == "web"
    assert len(fakekube.list("deployments", "shop")) == 1


def test_objects_are_defaulted_like_the_api_server(fakekube: FakeKube, kubectl: Kubectl) -> None:
    """kubectl create stores a defaulted object: strategy, pull policy, dnsPolicy..."""
    path = kubectl.kubeconfig.parent / "web.json"
    manifest = deployment("web", image="app")
    manifest["spec"]["template"]["spec"]["containers"][0]["ports"] = [{"containerPort": 80}]
    path.write_text(json.dumps(manifest))
    assert kubectl.run("create", "-f", str(path)).stdout.strip() == (
        "deployment.apps/web created"
    )
    got = kubectl.run("get", "deploy", "web", "-o", "json").json()
    spec = got["spec"]
    assert spec["strategy"] == {
        "type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}
    }
    assert (spec["revisionHistoryLimit"], spec["progressDeadlineSeconds"]) == (10, 600)
    pod = spec["template"]["spec"]
    assert (pod["dnsPolicy"], pod["restartPolicy"], pod["schedulerName"]) == (
        "ClusterFirst", "Always", "default-scheduler"
    )
    [c] = pod["containers"]
    assert (c["imagePullPolicy"], c["ports"][0]["protocol"]) == ("Always", "TCP")
