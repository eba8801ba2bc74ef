"""deploy/kubernetes/components/shards: valid, consistent with the config, RBAC kept tight."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

from aiops.actuators.kubernetes_api import LEASE_RULES, RBAC_RULES
from aiops.config.settings import load_config
from aiops.config.shard import ordinal_of
from aiops.sources.prometheus_stanza import pod_urls
from aiops.sources.promql_defaults import recording_rules
from tests.deploy.kustomize import build
from tests.deploy.test_kubernetes_manifests import K8S_VERSION, KUBE, _expected, _grants

ROOT = KUBE.parents[1]
TREE = KUBE / "overlays" / "shards"


def objs() -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["kind"], o["metadata"]["name"]): o for o in build(TREE)}


def config(tmp_path: Path) -> Any:
    path = tmp_path / "config.yaml"
    path.write_text(objs()[("ConfigMap", "aiops-config")]["data"]["config.yaml"])
    return load_config(path)


def test_every_object_validates_and_the_deployment_is_gone() -> None:
    """Strict schema for every object; two StatefulSets replace the Deployment."""
    built = build(TREE)
    for obj in built:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
    kinds = [(o["kind"], o["metadata"]["name"]) for o in built]
    assert ("Deployment", "aiops") not in kinds
    assert ("StatefulSet", "aiops-a") in kinds and ("StatefulSet", "aiops-b") in kinds


def test_shard_count_replicas_and_leases_agree(tmp_path: Path) -> None:
    """shard.count = replicas of each member; every pod's ordinal is a shard; the lease Role
    names exactly the shard Leases; the actuator's ClusterRole is the base's."""
    cfg = config(tmp_path)
    n = cfg.shard.count
    assert n > 1 and cfg.source.type == "remote_write"
    o = objs()
    for member in ("a", "b"):
        sts = o[("StatefulSet", f"aiops-{member}")]["spec"]
        assert sts["replicas"] == n and sts["serviceName"] == "aiops-shards"
        assert [ordinal_of(f"aiops-{member}-{k}") for k in range(n)] == list(range(n))
    role = o[("Role", "aiops-leader-election")]
    assert _grants(role["rules"]) == _expected(LEASE_RULES)
    named = [r for r in role["rules"] if r.get("resourceNames")]
    election = cfg.actuator.kubernetes.leader_election
    assert all(r["resourceNames"] == [f"{election.name}-{k}" for k in range(n)] for r in named)
    assert _grants(o[("ClusterRole", "aiops-actuator")]["rules"]) == _expected(RBAC_RULES)
    for k in range(n):
        assert o[("Service", f"aiops-shard-{k}")]["spec"]["selector"][
            "apps.kubernetes.io/pod-index"] == str(k)


def test_pods_are_hardened_and_reach_prometheus_by_name(tmp_path: Path) -> None:
    """Same pod template as the Deployment; the printed remote_write URLs are the pods'
    names on the headless Service, which publishes unready (standby) pods too."""
    o = objs()
    base = build(KUBE / "base")
    pod = next(x for x in base if x["kind"] == "Deployment")["spec"]["template"]["spec"]
    svc = o[("Service", "aiops-shards")]["spec"]
    assert svc["clusterIP"] == "None" and svc["publishNotReadyAddresses"] is True
    for member in ("a", "b"):
        spec = o[("StatefulSet", f"aiops-{member}")]["spec"]
        (container,) = spec["template"]["spec"]["containers"]
        mounts = container["volumeMounts"]
        assert {**container, "volumeMounts": [m for m in mounts if m["name"] != "journal-db"]
                } == pod["containers"][0]  # the base's, plus the journal's password
        assert spec["template"]["spec"]["securityContext"] == pod["securityContext"]
        labels = spec["template"]["metadata"]["labels"]
        assert svc["selector"].items() <= labels.items()
    n = config(tmp_path).shard.count
    urls = pod_urls(n, template="http://aiops-{member}-{shard}.aiops-shards.aiops.svc:9464/x",
                    members=["a", "b"])
    assert urls[1] == ["http://aiops-a-1.aiops-shards.aiops.svc:9464/x",
                       "http://aiops-b-1.aiops-shards.aiops.svc:9464/x"]


def test_recording_rules_file_is_what_the_code_scores() -> None:
    """deploy/prometheus/aiops-recording-rules.yaml records exactly the preset's metrics."""
    doc = yaml.safe_load((ROOT / "deploy" / "prometheus" / "aiops-recording-rules.yaml")
                         .read_text())
    assert doc["groups"][0]["rules"] == recording_rules()


def test_each_shard_pair_shares_its_own_journal_schema(tmp_path: Path) -> None:
    """The journal is PostgreSQL with the password from the mounted Secret; pod aiops-b-1
    opens schema aiops_1 like aiops-a-1, and no other shard does."""
    cfg = config(tmp_path)
    assert cfg.journal.engine == "postgresql" and cfg.journal.password_file
    o = objs()
    for member in ("a", "b"):
        pod = o[("StatefulSet", f"aiops-{member}")]["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        (mount,) = [m for m in container["volumeMounts"] if m["name"] == "journal-db"]
        assert Path(cfg.journal.password_file).parent == Path(mount["mountPath"])
        (volume,) = [v for v in pod["volumes"] if v["name"] == "journal-db"]
        assert volume["secret"]["secretName"] == "aiops-journal-db"
    schemas = {
        (member, k): cfg.model_copy(update={"shard": cfg.shard.model_copy(
            update={"ordinal": ordinal_of(f"aiops-{member}-{k}")})}).shard_journal().schema_name
        for member in ("a", "b") for k in range(cfg.shard.count)}
    for k in range(cfg.shard.count):
        assert schemas[("a", k)] == schemas[("b", k)] == f"{cfg.journal.schema_name}_{k}"
    assert len(set(schemas.values())) == cfg.shard.count
