"""deploy/kubernetes: schema-valid, least-privilege, hardened, and consistent with the code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from aiops.actuators.kubernetes_api import LEASE_RULES, RBAC_RULES
from aiops.config.actuators import LeaderElectionConfig
from aiops.config.settings import load_config
from aiops.config.yamlsource import parse_yaml
from aiops.runbook.loader import validate_runbook
from tests.deploy.kustomize import build

ROOT = Path(__file__).resolve().parents[2]
KUBE = ROOT / "deploy" / "kubernetes"
TREES = ["base", "overlays/dev", "overlays/prod"]
K8S_VERSION = "1.30.0"


def _objs(tree: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["kind"], o["metadata"]["name"]): o for o in build(KUBE / tree)}


def _pod(tree: str) -> dict[str, Any]:
    return dict(_objs(tree)[("Deployment", "aiops")]["spec"]["template"])


def _grants(rules: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {
        (g, r, v)
        for rule in rules
        for g in rule["apiGroups"]
        for r in rule["resources"]
        for v in rule["verbs"]
    }


def _expected(table: dict[tuple[str, str], frozenset[str]]) -> set[tuple[str, str, str]]:
    return {(g, r, v) for (g, r), verbs in table.items() for v in verbs}


@pytest.mark.parametrize("tree", TREES)
def test_every_object_validates_against_kubernetes_schema(tree: str) -> None:
    """Each built object passes kubernetes-validate's strict offline schema."""
    objs = build(KUBE / tree)
    kinds = {o["kind"] for o in objs}
    assert {
        "ServiceAccount",
        "ClusterRole",
        "Role",
        "ConfigMap",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "NetworkPolicy",
    } <= kinds
    for obj in objs:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_invalid_manifest_is_rejected() -> None:
    """The validator does catch a schema error (a string replica count)."""
    dep = _objs("base")[("Deployment", "aiops")]
    dep["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(dep, K8S_VERSION, strict=True)


def test_cluster_role_grants_exactly_what_the_actuator_calls() -> None:
    """The ClusterRole lists exactly RBAC_RULES; the namespaced Role exactly LEASE_RULES."""
    objs = _objs("base")
    assert _grants(objs[("ClusterRole", "aiops-actuator")]["rules"]) == _expected(RBAC_RULES)
    role = objs[("Role", "aiops-leader-election")]
    assert _grants(role["rules"]) == _expected(LEASE_RULES)
    named = [r for r in role["rules"] if r.get("resourceNames")]
    assert named and all(r["resourceNames"] == [LeaderElectionConfig().name] for r in named)
    for binding in (
        ("ClusterRoleBinding", "aiops-actuator"),
        ("RoleBinding", "aiops-leader-election"),
    ):
        assert objs[binding]["subjects"] == [
            {"kind": "ServiceAccount", "name": "aiops", "namespace": "aiops"}
        ]


@pytest.mark.parametrize(
    ("tree", "mode", "replicas"),
    [("base", None, 2), ("overlays/dev", "dry-run", 1), ("overlays/prod", "approve", 2)],
)
def test_config_loads_and_matches_the_pod(
    tmp_path: Path, tree: str, mode: str | None, replicas: int
) -> None:
    """The ConfigMap's config.yaml loads with aiops' own loader, sets the overlay's mode, and
    agrees with the pod on port, state directory, runbook path and leader election."""
    objs = _objs(tree)
    path = tmp_path / "config.yaml"
    path.write_text(objs[("ConfigMap", "aiops-config")]["data"]["config.yaml"])
    cfg = load_config(path)
    assert cfg.mode == mode
    assert objs[("Deployment", "aiops")]["spec"]["replicas"] == replicas
    assert cfg.actuator.type == "kubernetes" and cfg.actuator.kubernetes.in_cluster
    election = cfg.actuator.kubernetes.leader_election
    assert election.enabled and election.namespace == "aiops"
    container = _pod(tree)["spec"]["containers"][0]
    assert container["ports"][0]["containerPort"] == cfg.http.port
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert cfg.state_dir in mounts and not mounts[cfg.state_dir].get("readOnly")
    assert all(p in mounts for p in cfg.runbooks.paths)
    assert str(Path(cfg.http.token_file or "").parent) in mounts


def test_runbooks_in_configmap_validate() -> None:
    """Every runbook shipped in the aiops-runbooks ConfigMap passes the runbook schema."""
    data = _objs("base")[("ConfigMap", "aiops-runbooks")]["data"]
    assert data
    for name, text in data.items():
        runbook = validate_runbook(parse_yaml(text, file=name))
        assert runbook.spec.target.kind == "Deployment"


@pytest.mark.parametrize("tree", TREES)
def test_pod_is_hardened(tree: str) -> None:
    """Non-root, read-only root filesystem, no privilege escalation, all capabilities
    dropped, RuntimeDefault seccomp, and probes on /healthz and /readyz."""
    pod = _pod(tree)["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["serviceAccountName"] == "aiops"
    [c] = pod["containers"]
    sc = c["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert {"name": "http", "containerPort": 9464, "protocol": "TCP"} in c["ports"]
    assert "limits" in c["resources"] and "requests" in c["resources"]


def test_selectors_agree() -> None:
    """Service, PDB and NetworkPolicy select the aiops pods; the Service targets the http port."""
    objs = _objs("base")
    labels = _pod("base")["metadata"]["labels"]
    svc = objs[("Service", "aiops")]["spec"]
    assert svc["selector"].items() <= labels.items()
    assert svc["ports"][0]["targetPort"] == "http"
    for key in (("PodDisruptionBudget", "aiops"), ("NetworkPolicy", "aiops")):
        sel = objs[key]["spec"]["selector" if key[0] == "PodDisruptionBudget" else "podSelector"]
        assert sel["matchLabels"].items() <= labels.items()
    netpol = objs[("NetworkPolicy", "aiops")]["spec"]
    assert set(netpol["policyTypes"]) == {"Ingress", "Egress"}
    assert netpol["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 9464}]


def test_overlays_set_their_images() -> None:
    """dev runs a local dev image; prod pins a released tag."""
    assert _pod("overlays/dev")["spec"]["containers"][0]["image"] == "localhost/aiops:dev"
    assert _pod("overlays/prod")["spec"]["containers"][0]["image"] == "ghcr.io/example/aiops:0.1.0"
