"""KubernetesActuator through the real client over HTTP against the fake API server."""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from aiops.actuators.base import Actuator
from aiops.actuators.kubernetes import KubernetesActuator
from aiops.actuators.kubernetes_api import RBAC_RULES
from aiops.config.actuators import KubernetesConfig
from aiops.errors import PermanentError, TemporaryError
from aiops.model import Action, OutcomeStatus, Reconciled, Target
from tests.fakekube.plugin import deployment, fakekube, hpa, roll_out, statefulset
from tests.fakekube.server import FakeKube, Fault

__all__ = ["fakekube"]

NOW = 1_790_000_000.0  # 2026-09-21T...; any fixed instant works, time is injected
WEB = Target(kind="Deployment", namespace="shop", name="web")


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def kube(fakekube: FakeKube, sleeps: list[float]) -> Iterator[KubernetesActuator]:
    def sleep(seconds: float) -> None:  # record the requested delay, wait a capped real time
        sleeps.append(seconds)
        time.sleep(min(seconds, 0.05))

    cfg = KubernetesConfig(host=fakekube.url, backoff=0.01, request_timeout=0.5, retries=3)
    act = KubernetesActuator(cfg, sleep=sleep)
    yield act
    act.close()


def _action(kind: str, aid: str = "a1", target: Target = WEB, **params: Any) -> Action:
    return Action(id=aid, kind=kind, target=target, params=params, incident="inc-42")


def _dry(kind: str, aid: str = "d1", **params: Any) -> Action:
    return Action(id=aid, kind=kind, target=WEB, params=params, dry_run=True, incident="inc-42")


def _events(server: FakeKube) -> list[dict[str, Any]]:
    return server.list("events", "shop")


def _rs_by_revision(server: FakeKube) -> dict[str, dict[str, Any]]:
    return {
        rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]: rs
        for rs in server.list("replicasets", "shop")
    }


def test_is_an_actuator(kube: KubernetesActuator) -> None:
    """KubernetesActuator satisfies the Actuator protocol."""
    assert isinstance(kube, Actuator)


def test_scale_writes_replicas_and_the_action_id_in_one_request(
    fakekube: FakeKube, kube: KubernetesActuator
) -> None:
    """scale sets spec.replicas and records the action id in the same (atomic) merge patch."""
    fakekube.create("deployments", deployment("web", replicas=2))
    out = kube.apply(_action("scale", replicas=5), now=NOW)
    assert out.status is OutcomeStatus.DONE
    dep = fakekube.get("deployments", "shop", "web")
    assert dep["spec"]["replicas"] == 5
    assert dep["metadata"]["annotations"]["aiops.dev/last-action-id"] == "a1"
    assert len(fakekube.list("pods", "shop")) == 5
    [write] = fakekube.writes("/deployments/web$")
    assert (write.method, write.content_type, write.body["spec"]) == (
        "PATCH", "application/merge-patch+json", {"replicas": 5})
    assert "a1" in write.body["metadata"]["annotations"]["aiops.dev/action-ids"]
    assert out.after["diff"]["spec.replicas"] == {"before": 2, "after": 5}
    [event] = _events(fakekube)
    assert event["reason"] == "AiopsScaled"
    assert event["involvedObject"]["name"] == "web"
    assert "incident inc-42" in event["message"]


def test_repeating_an_action_is_a_no_op(fakekube: FakeKube, kube: KubernetesActuator) -> None:
    """Applying the same action id twice changes nothing the second time."""
    fakekube.create("deployments", deployment("web"))
    kube.apply(_action("restart"), now=NOW)
    writes = len(fakekube.writes())
    again = kube.apply(_action("restart"), now=NOW + 60)
    assert again.status is OutcomeStatus.ALREADY_DONE
    assert len(fakekube.writes()) == writes
    assert set(_rs_by_revision(fakekube)) == {"1", "2"}


def test_scale_statefulset(fakekube: FakeKube, kube: KubernetesActuator) -> None:
    """StatefulSets scale through their scale subresource; pods keep ordinal names."""
    fakekube.create("statefulsets", statefulset("db", replicas=1))
    target = Target(kind="StatefulSet", namespace="shop", name="db")
    kube.apply(_action("scale", target=target, replicas=3), now=NOW)
    assert fakekube.get("statefulsets", "shop", "db")["spec"]["replicas"] == 3
    names = sorted(p["metadata"]["name"] for p in fakekube.list("pods", "shop"))
    assert names == ["db-0", "db-1", "db-2"]


def test_scale_via_hpa_raises_min_replicas(fakekube: FakeKube, kube: KubernetesActuator) -> None:
    """With an HPA on the workload, scale sets HPA minReplicas and leaves spec.replicas alone."""
    fakekube.create("deployments", deployment("web", replicas=2))
    fakekube.create("horizontalpodautoscalers", hpa("web-hpa", "web", min_replicas=2))
    out = kube.apply(_action("scale", replicas=6), now=NOW)
    h = fakekube.get("horizontalpodautoscalers", "shop", "web-hpa")
    assert (h["spec"]["minReplicas"], h["spec"]["maxReplicas"]) == (6, 10)
    assert h["metadata"]["annotations"]["aiops.dev/last-action-id"] == "a1"
    assert fakekube.get("deployments", "shop", "web")["spec"]["replicas"] == 2
    assert fakekube.writes("/scale$") == []
    assert kube.observe(WEB, now=NOW).hpa_min_replicas == 6
    assert "minReplicas from 2 to 6" in out.message


def test_scale_via_hpa_clamps_or_raises_max(fakekube: FakeKube) -> None:
    """Above maxReplicas the floor is clamped, unless hpa_raise_max lifts the ceiling too."""
    fakekube.create("deployments", deployment("web"))
    fakekube.create("horizontalpodautoscalers", hpa("web-hpa", "web", max_replicas=8))
    clamp = KubernetesActuator(KubernetesConfig(host=fakekube.url))
    out = clamp.apply(_action("scale", "c1", replicas=12), now=NOW)
    assert "clamped to maxReplicas 8" in out.message
    assert fakekube.get("horizontalpodautoscalers", "shop", "web-hpa")["spec"]["minReplicas"] == 8
    raise_max = KubernetesActuator(KubernetesConfig(host=fakekube.url, hpa_raise_max=True))
    raise_max.apply(_action("scale", "c2", replicas=12), now=NOW)
    spec = fakekube.get("horizontalpodautoscalers", "shop", "web-hpa")["spec"]
    assert (spec["minReplicas"], spec["maxReplicas"]) == (12, 12)


def test_scale_bypasses_hpa_when_asked(fakekube: FakeKube, kube: KubernetesActuator) -> None:
    """via_hpa=False scales the workload directly even when an HPA targets it."""
    fakekube.create("deployments", deployment("web"))
    fakekube.create("horizontalpodautoscalers", hpa("web-hpa", "web"))
    kube.apply(_action("scale", replicas=4, via_hpa=False), now=NOW)
    assert fakekube.get("deployments", "shop", "web")["spec"]["replicas"] == 4
    assert fakekube.get("horizontalpodautoscalers", "shop", "web-hpa")["spec"]["minReplicas"] == 2


def test_restart_matches_kubectl_rollout_restart(
    fakekube: FakeKube, kube: KubernetesActuator
) -> None:
    """restart sets pod-template restartedAt (RFC 3339) by strategic merge, making revision 2."""
    fakekube.create("deployments", deployment("web"))
    out = kube.apply(_action("restart"), now=NOW)
    dep = fakekube.get("deployments", "shop", "web")
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW))
    assert dep["spec"]["template"]["metadata"]["annotations"] == {
        "kubectl.kubernetes.io/restartedAt": stamp
    }
    assert dep["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    [write] = fakekube.writes("/deployments/web$")
    assert write.content_type == "application/strategic-merge-patch+json"
    assert write.body["spec"] == {
        "template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": stamp}}}
    }
    new_rs = _rs_by_revision(fakekube)["2"]
    assert new_rs["spec"]["template"]["metadata"]["annotations"] == {
        "kubectl.kubernetes.io/restartedAt": stamp
    }
    assert out.after["diff"][
        "spec.template.metadata.annotations.kubectl.kubernetes.io/restartedAt"
    ] == {"before": None, "after": stamp}


def test_restart_refuses_paused_deployment(fakekube: FakeKube, kube: KubernetesActuator) -> None:
    """A paused Deployment is not restarted; a Warning event says why."""
    fakekube.create("deployments", deployment("web", paused=True))
    with pytest.raises(PermanentError, match="paused"):
        kube.apply(_action("restart"), now=NOW)
    assert fakekube.writes("/deployments/") == []
    [event] = _events(fakekube)
    assert (event["type"], event["reason"]) == ("Warning", "AiopsRefused")


def test_rollback_matches_kubectl_rollout_undo(
    fakekube: FakeKube, kube: KubernetesActuator
) -> None:
    """rollback restores revision 1's template without the hash label, as revision 3."""
    fakekube.create("deployments", deployment("web", image="app:1"))
    roll_out(fakekube, "shop", "web", "app:2")
    rev1_template = _rs_by_revision(fakekube)["1"]["spec"]["template"]
    out = kube.apply(_action("rollback"), now=NOW)
    assert out.status is OutcomeStatus.DONE
    dep = fakekube.get("deployments", "shop", "web")
    assert "pod-template-hash" in rev1_template["metadata"]["labels"]
    expected = copy.deepcopy(rev1_template)
    del expected["metadata"]["labels"]["pod-template-hash"]
    assert dep["spec"]["template"] == expected
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "app:1"
    notes = dep["metadata"]["annotations"]
    assert notes["deployment.kubernetes.io/revision"] == "3"
    assert (notes["aiops.dev/rolled-back-from"], notes["aiops.dev/rolled-back-to"]) == ("2", "1")
    revs = _rs_by_revision(fakekube)
    assert set(revs) == {"2", "3"}
    assert revs["3"]["spec"]["template"]["spec"]["containers"][0]["image"] == "app:1"
    [write] = fakekube.writes("/deployments/web$")
    assert write.content_type == "application/json-patch+json"
    assert [op["path"] for op in write.body] == [
        "/spec/template",
        "/metadata/annotations",
        "/metadata/resourceVersion",
    ]
    assert "from revision 2 to revision 1" in out.message


def test_rollback_refuses_blind_second_undo(fakekube: FakeKube, kube: KubernetesActuator) -> None:
    """A second undo that would flip back to the bad revision is refused; after a new rollout
    a rollback is allowed again."""
    fakekube.create("deployments", deployment("web", image="app:1"))
    roll_out(fakekube, "shop", "web", "app:2")
    kube.apply(_action("rollback", "r1"), now=NOW)
    with pytest.raises(PermanentError, match="blind second undo"):
        kube.apply(_action("rollback", "r2"), now=NOW)
    image = fakekube.get("deployments", "shop", "web")["spec"]["template"]["spec"]["containers"]
    assert image[0]["image"] == "app:1"
    roll_out(fakekube, "shop", "web", "app:3")
    kube.apply(_action("rollback", "r3"), now=NOW)
    dep = fakekube.get("deployments", "shop", "web")
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "app:1"
    assert dep["metadata"]["annotations"]["aiops.dev/rolled-back-from"] == "4"


def test_rollback_only_if_changed_within(fakekube: FakeKube, kube: KubernetesActuator) -> None:
    """only_if_changed_within refuses to undo a change older than the window."""
    fakekube.create("deployments", deployment("web", image="app:1"))
    roll_out(fakekube, "shop", "web", "app:2")
    with pytest.raises(PermanentError, match="older than"):
        kube.apply(_action("rollback", only_if_changed_within=60), now=time.time() + 3600)
    out = kube.apply(_action("rollback", only_if_changed_within=3600), now=time.time())
    assert out.status is OutcomeStatus.DONE


def test_rollback_without_history_is_permanent(
    fakekube: FakeKube, kube: KubernetesActuator
) -> None:
    """With one revision there is nothing to undo."""
    fakekube.create("deployments", deployment("web"))
    with pytest.raises(PermanentError, match="no rollout history"):
        kube.apply(_action("rollback"), now=NOW)


def test_delete_pod_picks_least_healthy(fakekube: FakeKube, kube: KubernetesActuator) -> None:
    """delete_pod removes the unready pod; the ReplicaSet replaces it; intent is cleared."""
    fakekube.create("deployments", deployment("web", replicas=3))
    pods = fakekube.list("pods", "shop")
    sick = pods[1]
    sick["status"]["conditions"] = [{"type": "Ready", "status": "False"}]
    with fakekube.store.lock:
        fakekube.store.save("pods", sick)
    out = kube.apply(_action("delete_pod"), now=NOW)
    names = {p["metadata"]["name"] for p in fakekube.list("pods", "shop")}
    assert sick["metadata"]["name"] not in names
    assert len(names) == 3
    assert out.after["deleted_pod"] == sick["metadata"]["name"]
    notes = fakekube.get("deployments", "shop", "web")["metadata"]["annotations"]
    assert "aiops.dev/pending-action" not in notes
    assert notes["aiops.dev/last-action-id"] == "a1"
    assert len([w for w in fakekube.writes("/pods/") if w.method == "DELETE"]) == 1


def test_delete_named_pod_must_belong(fakekube: FakeKube, kube: KubernetesActuator) -> None:
    """A named pod outside the workload is refused; a named pod inside is deleted."""
    fakekube.create("deployments", deployment("web"))
    with pytest.raises(PermanentError, match="does not belong"):
        kube.apply(_action("delete_pod", pod="other-1"), now=NOW)
    victim = fakekube.list("pods", "shop")[0]["metadata"]["name"]
    kube.apply(_action("delete_pod", "a2", pod=victim), now=NOW)
    assert victim not in {p["metadata"]["name"] for p in fakekube.list("pods", "shop")}


@pytest.mark.parametrize(
    ("kind", "params", "path"),
    [
        ("scale", {"replicas": 5}, "spec.replicas"),
        ("restart", {}, "spec.template.metadata.annotations.kubectl.kubernetes.io/restartedAt"),
        ("rollback", {}, "spec.template.spec.containers"),
        ("delete_pod", {}, None),
    ],
)
def test_dry_run_persists_nothing(
    fakekube: FakeKube,
    kube: KubernetesActuator,
    kind: str,
    params: dict[str, Any],
    path: str | None,
) -> None:
    """Dry-run sends dryRun=All writes only, changes no object, and returns the diff."""
    fakekube.create("deployments", deployment("web", image="app:1"))
    roll_out(fakekube, "shop", "web", "app:2")
    before = {k: v["metadata"]["resourceVersion"] for k, v in fakekube.store.objects.items()}
    out = kube.apply(_dry(kind, **params), now=NOW)
    after = {k: v["metadata"]["resourceVersion"] for k, v in fakekube.store.objects.items()}
    assert out.status is OutcomeStatus.DRY_RUN
    assert after == before
    writes = fakekube.writes()
    assert writes and all(w.query.get("dryRun") == "All" for w in writes)
    if path is not None:
        assert path in out.after["diff"]
    else:
        assert out.after["deleted_pod"] in {
            p["metadata"]["name"] for p in fakekube.list("pods", "shop")
        }


def _retry(kube: KubernetesActuator, action: Action, now: float) -> Any:
    """What the engine does after a TemporaryError: call again later, attempt + 1."""
    return kube.apply(replace(action, attempt=action.attempt + 1), now=now)


def test_conflict_is_temporary_and_the_retry_scales_once(
    fakekube: FakeKube, kube: KubernetesActuator
) -> None:
    """A 409 is one failed attempt (TemporaryError); the engine's retry re-reads and scales."""
    fakekube.create("deployments", deployment("web"))
    fakekube.inject(Fault(path="/deployments/web$", method="PATCH", status=409))
    action = _action("scale", replicas=4)
    with pytest.raises(TemporaryError):
        kube.apply(action, now=NOW)
    out = _retry(kube, action, NOW + 1)
    assert out.status is OutcomeStatus.DONE
    assert [w.status for w in fakekube.writes("/deployments/web$")] == [409, 200]
    assert fakekube.get("deployments", "shop", "web")["spec"]["replicas"] == 4


def test_throttling_reports_retry_after_and_never_sleeps(
    fakekube: FakeKube, kube: KubernetesActuator, sleeps: list[float]
) -> None:
    """A 429 with Retry-After: 3 raises TemporaryError(retry_after=3); the actuator waits not."""
    fakekube.create("deployments", deployment("web"))
    fakekube.inject(Fault(path="/deployments/web$", method="PATCH", status=429, retry_after="3"))
    with pytest.raises(TemporaryError) as info:
        kube.apply(_action("restart"), now=NOW)
    assert info.value.retry_after == 3.0 and sleeps == []
    _retry(kube, _action("restart"), NOW + 3)
    assert set(_rs_by_revision(fakekube)) == {"1", "2"}


def test_lost_response_is_not_applied_twice(fakekube: FakeKube, kube: KubernetesActuator) -> None:
    """A 500 after the restart was stored is detected on the retry's re-read; no second one."""
    fakekube.create("deployments", deployment("web"))
    fakekube.inject(Fault(path="/deployments/web$", method="PATCH", status=500, after_commit=True))
    with pytest.raises(TemporaryError):
        kube.apply(_action("restart"), now=NOW)
    out = _retry(kube, _action("restart"), NOW + 1)
    assert out.status is OutcomeStatus.DONE
    assert "confirmed on re-read" in out.message
    assert len(fakekube.writes("/deployments/web$")) == 1
    assert set(_rs_by_revision(fakekube)) == {"1", "2"}
    assert len(_events(fakekube)) == 1


def test_slow_write_then_retry_never_doubles(fakekube: FakeKube, kube: KubernetesActuator) -> None:
    """A write slower than the timeout is retried; the late original then loses with 409."""
    fakekube.create("deployments", deployment("web", image="app:1"))
    roll_out(fakekube, "shop", "web", "app:2")
    fakekube.inject(Fault(path="/deployments/web$", method="PATCH", delay=1.2))
    with pytest.raises(TemporaryError):
        kube.apply(_action("rollback"), now=NOW)
    out = _retry(kube, _action("rollback"), NOW + 1)
    assert out.status is OutcomeStatus.DONE
    deadline = time.monotonic() + 5
    while len(fakekube.writes("/deployments/web$")) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    statuses = sorted(w.status for w in fakekube.writes("/deployments/web$"))
    assert statuses == [200, 409]
    assert set(_rs_by_revision(fakekube)) == {"2", "3"}


def test_5xx_is_temporary_and_writes_nothing(
    fakekube: FakeKube, kube: KubernetesActuator
) -> None:
    """A 503 on the read surfaces at once as TemporaryError, and nothing is written."""
    fakekube.create("deployments", deployment("web"))
    fakekube.inject(Fault(path="/deployments/web$", method="GET", status=503, count=10))
    with pytest.raises(TemporaryError):
        kube.apply(_action("restart"), now=NOW)
    assert fakekube.writes("/deployments/") == []


def test_reconcile_reads_the_action_id_back(fakekube: FakeKube, kube: KubernetesActuator) -> None:
    """After a crash, reconcile says done iff the object records the action's id."""
    fakekube.create("deployments", deployment("web"))
    action = _action("restart", aid="inc-1:0")
    assert kube.reconcile(action, before={}, now=NOW).status is Reconciled.NOT_DONE
    fakekube.inject(Fault(path="/deployments/web$", method="PATCH", status=500, after_commit=True))
    with pytest.raises(TemporaryError):
        kube.apply(action, now=NOW)  # applied, but the answer was lost (then "we crashed")
    assert kube.reconcile(action, before={}, now=NOW).status is Reconciled.DONE


def test_reconcile_of_a_pod_deletion_uses_the_recorded_intent(
    fakekube: FakeKube, kube: KubernetesActuator
) -> None:
    """Intent recorded and pod gone: done; intent recorded and pod still there: not done."""
    fakekube.create("deployments", deployment("web", replicas=2))
    pod = fakekube.list("pods", "shop")[0]["metadata"]["name"]
    action = _action("delete_pod", aid="inc-2:0", pod=pod)
    fakekube.inject(Fault(path="/pods/", method="DELETE", status=503))
    with pytest.raises(TemporaryError):
        kube.apply(action, now=NOW)  # intent written, delete failed
    assert kube.reconcile(action, before={}, now=NOW).status is Reconciled.NOT_DONE
    fakekube.inject(Fault(path="/deployments/web$", method="PATCH", status=503))
    with pytest.raises(TemporaryError):
        _retry(kube, action, NOW + 1)  # the pod is deleted, the closing annotation is not
    assert pod not in {p["metadata"]["name"] for p in fakekube.list("pods", "shop")}
    assert kube.reconcile(action, before={}, now=NOW).status is Reconciled.DONE


def test_forbidden_names_the_missing_rbac_verb(
    fakekube: FakeKube, kube: KubernetesActuator
) -> None:
    """A 403 is permanent and names the verb and resource the Role lacks."""
    fakekube.create("deployments", deployment("web"))
    fakekube.deny("patch", "deployments")
    with pytest.raises(
        PermanentError, match=r"verb 'patch' on 'deployments' \(apiGroup 'apps'\)"
    ):
        kube.apply(_action("scale", replicas=3), now=NOW)


def test_missing_workload_is_permanent(kube: KubernetesActuator) -> None:
    """Acting on a Deployment that does not exist is a PermanentError; observe says so."""
    with pytest.raises(PermanentError, match="not found"):
        kube.apply(_action("restart"), now=NOW)
    assert kube.observe(WEB, now=NOW).exists is False


def test_observe_reports_rollout_progress(fakekube: FakeKube, kube: KubernetesActuator) -> None:
    """observe shows a rollout in progress until status converges, then the new revision."""
    fakekube.controller.rollout_seconds = 2.0
    fakekube.create("deployments", deployment("web", replicas=3))
    assert kube.observe(WEB, now=NOW).rollout_in_progress is True
    assert kube.wait_for_rollout(WEB, timeout=10, poll=0.1) is True
    state = kube.observe(WEB, now=NOW)
    assert (state.replicas, state.ready_replicas, state.revision) == (3, 3, 1)
    assert state.rollout_in_progress is False
    kube.apply(_action("restart"), now=NOW)
    assert kube.observe(WEB, now=NOW).rollout_in_progress is True


def _rbac_of(method: str, path: str) -> tuple[str, str, str]:
    m = re.match(
        r"^/(?:api/v1|apis/(?P<g>[^/]+)/[^/]+)/namespaces/[^/]+/(?P<r>[^/]+)"
        r"(?:/(?P<n>[^/]+))?(?:/(?P<s>[^/]+))?$",
        path,
    )
    assert m is not None, path
    verb = {
        "GET": "get" if m["n"] else "list",
        "POST": "create",
        "PUT": "update",
        "PATCH": "patch",
        "DELETE": "delete",
    }[method]
    resource = f"{m['r']}/{m['s']}" if m["s"] else m["r"]
    return (m["g"] or "", resource, verb)


def test_requests_stay_within_declared_rbac(fakekube: FakeKube, kube: KubernetesActuator) -> None:
    """Every request of every action kind is covered by RBAC_RULES (what the Role grants)."""
    fakekube.create("deployments", deployment("web", image="app:1"))
    fakekube.create("statefulsets", statefulset("db"))
    fakekube.create("horizontalpodautoscalers", hpa("db-hpa", "db", kind="StatefulSet"))
    roll_out(fakekube, "shop", "web", "app:2")
    db = Target(kind="StatefulSet", namespace="shop", name="db")
    kube.apply(_action("scale", "1", replicas=3), now=NOW)
    kube.apply(_action("scale", "2", target=db, replicas=3), now=NOW)
    kube.apply(_action("scale", "2b", target=db, replicas=2, via_hpa=False), now=NOW)
    kube.apply(_action("restart", "3", target=db), now=NOW)
    kube.apply(_action("rollback", "4"), now=NOW)
    kube.apply(_action("delete_pod", "5"), now=NOW)
    kube.observe(WEB, now=NOW)
    used = {_rbac_of(r.method, r.path) for r in fakekube.log}
    granted = {(g, r, v) for (g, r), verbs in RBAC_RULES.items() for v in verbs}
    assert used <= granted
    assert used == granted


def test_statefulset_restart_and_no_rollback(fakekube: FakeKube, kube: KubernetesActuator) -> None:
    """StatefulSets restart like `kubectl rollout restart`; rollback is refused for them."""
    fakekube.create("statefulsets", statefulset("db"))
    db = Target(kind="StatefulSet", namespace="shop", name="db")
    kube.apply(_action("restart", target=db), now=NOW)
    sts = fakekube.get("statefulsets", "shop", "db")
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW))
    assert sts["spec"]["template"]["metadata"]["annotations"] == {
        "kubectl.kubernetes.io/restartedAt": stamp
    }
    assert sts["metadata"]["generation"] == 2
    with pytest.raises(PermanentError, match="Deployments only"):
        kube.apply(_action("rollback", "r", target=db), now=NOW)


def test_kubeconfig_and_context_are_honoured(fakekube: FakeKube, tmp_path: Path) -> None:
    """Without host, the client is built from the named kubeconfig file and context."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {"name": "fake", "cluster": {"server": fakekube.url}},
                    {"name": "nowhere", "cluster": {"server": "http://127.0.0.1:9"}},
                ],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [
                    {"name": "fake", "context": {"cluster": "fake", "user": "u"}},
                    {"name": "other", "context": {"cluster": "nowhere", "user": "u"}},
                ],
                "current-context": "other",
            }
        )
    )
    fakekube.create("deployments", deployment("web", replicas=3))
    act = KubernetesActuator(KubernetesConfig(kubeconfig=str(kubeconfig), context="fake"))
    try:
        assert act.observe(WEB, now=NOW).replicas == 3
    finally:
        act.close()
