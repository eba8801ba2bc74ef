"""Shards: which replica owns a workload, where the ordinal comes from, and the guard."""

from __future__ import annotations

import pytest

from aiops.config.shard import ShardConfig, hashmod
from aiops.model import Target
from aiops.reasons import ReasonCode
from aiops.runbook.guards import GuardFacts, check_guards
from aiops.runbook.schema import Guards


def test_every_workload_has_exactly_one_owner() -> None:
    """Across the N shards, one and only one owns each workload; all shards get some."""
    n = 5
    shards = [ShardConfig(count=n, ordinal=i) for i in range(n)]
    owners = {w: [s.ordinal for s in shards if s.owns({"namespace": "ns", "workload": w})]
              for w in (f"w{i}" for i in range(200))}
    assert all(len(o) == 1 for o in owners.values())
    assert {o[0] for o in owners.values()} == set(range(n))


def test_missing_labels_hash_as_empty_strings() -> None:
    """As in Prometheus, an absent source label joins as the empty string."""
    cfg = ShardConfig(count=7, ordinal=0)
    assert cfg.shard_of({"workload": "web"}) == hashmod(["", "web"], 7)


@pytest.mark.parametrize(("env", "host", "want"), [
    ({}, "aiops-a-3", 3), ({"AIOPS_SHARD": "1"}, "aiops-a-3", 1), ({}, "aiops-b-0", 0)])
def test_the_ordinal_comes_from_the_environment_or_the_pod_name(
    env: dict[str, str], host: str, want: int
) -> None:
    """$AIOPS_SHARD first, else the StatefulSet ordinal at the end of the hostname."""
    assert ShardConfig(count=4).resolved(env, host).ordinal == want


@pytest.mark.parametrize(("env", "host", "why"), [
    ({}, "aiops-5d9c7b6f4-x2x7q", "no ordinal"), ({}, "aiops-a-4", "not below"),
    ({"AIOPS_SHARD": "9"}, "aiops-a-0", "AIOPS_SHARD")])
def test_a_missing_or_out_of_range_ordinal_is_an_error(
    env: dict[str, str], host: str, why: str
) -> None:
    """A Deployment pod name has no ordinal; an ordinal past count is refused."""
    with pytest.raises(ValueError, match=why):
        ShardConfig(count=4).resolved(env, host)


def test_targets_of_other_shards_are_skipped_by_the_guards() -> None:
    """The guard refuses a target another shard owns, with code other-shard."""
    targets = [Target(kind="Deployment", namespace="shop", name=f"w{i}") for i in range(20)]
    for t in targets:
        owner = hashmod([t.namespace, t.name], 3)
        for ordinal in range(3):
            facts = GuardFacts(shard_count=3, shard_ordinal=ordinal)
            reason = check_guards(Guards(), t, facts, now=0.0)
            if ordinal == owner:
                assert reason is None
            else:
                assert reason is not None and reason.code is ReasonCode.OTHER_SHARD
                assert f"shard {owner}" in reason.message


def test_shards_on_postgresql_each_open_their_own_schema() -> None:
    """With shards the PostgreSQL schema gets the ordinal; SQLite and one shard keep theirs."""
    from aiops.config import Config

    pg = {"url": "postgresql://aiops@db:5432/aiops", "schema": "ops"}
    two = [Config.model_validate({"journal": pg, "shard": {"count": 2, "ordinal": k}})
           for k in range(2)]
    assert [c.shard_journal().schema_name for c in two] == ["ops_0", "ops_1"]
    assert two[0].shard_journal().url == pg["url"]
    one = Config.model_validate({"journal": pg})
    assert one.shard_journal().schema_name == "ops"
    sqlite = Config.model_validate({"shard": {"count": 2, "ordinal": 1}})
    assert sqlite.shard_journal() == sqlite.journal
