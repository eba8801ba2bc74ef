"""Workload shards: which replica owns which workload, by Prometheus' own ``hashmod``.

A workload belongs to shard ``hashmod(values, count)``: the MD5 of its shard labels'
values joined by ``;`` (Prometheus' default relabel separator), the last 8 bytes of the
digest read as a big-endian unsigned 64-bit integer, modulo the shard count. That is
exactly what a ``relabel_config`` with ``action: hashmod`` computes, so Prometheus can
split the remote-write stream (``write_relabel_configs``) and every shard agrees with it
on who owns what. A missing label counts as the empty string, as in Prometheus.

>>> hashmod(["shop", "checkout"], 1)
0
>>> [hashmod(["shop", w], 4) for w in ("checkout", "cart", "search", "web")]
[3, 3, 3, 0]
>>> ShardConfig(count=4, ordinal=3).owns({"namespace": "shop", "workload": "cart"})
True
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
from collections.abc import Mapping, Sequence

from pydantic import Field, model_validator

from aiops.config.base import Section

#: Prometheus' default ``separator`` of ``source_labels``.
SEPARATOR = ";"
_ORDINAL = re.compile(r"-(\d+)$")


def hashmod(values: Sequence[str], modulus: int) -> int:
    """The shard of a workload whose shard labels have ``values`` (Prometheus ``hashmod``)."""
    digest = hashlib.md5(SEPARATOR.join(values).encode("utf-8"), usedforsecurity=False).digest()
    return int.from_bytes(digest[8:], "big") % modulus


def ordinal_of(hostname: str) -> int | None:
    """The StatefulSet ordinal at the end of a pod name (``aiops-a-3`` -> 3), if any.

    >>> ordinal_of("aiops-a-3"), ordinal_of("aiops-5d9c7b6f4-x2x7q")
    (3, None)
    """
    m = _ORDINAL.search(hostname)
    return int(m.group(1)) if m else None


class ShardConfig(Section):
    """Split workloads over ``count`` shards (StatefulSet replicas); 1 means no sharding."""

    count: int = Field(
        1, ge=1, le=4096,
        description="Number of shards. Prometheus must split its remote_write stream into as "
        "many parts (aiops deploy prometheus-config --shards N prints the stanza).",
    )
    ordinal: int | None = Field(
        None, ge=0,
        description="This replica's shard; default: $AIOPS_SHARD, else the ordinal at the end "
        "of the pod name (StatefulSet pod aiops-a-3 is shard 3).",
    )
    labels: list[str] = Field(
        default_factory=lambda: ["namespace", "workload"], min_length=1,
        description="Labels whose values are hashed (the hashmod source_labels). Runbook "
        "targets are hashed as [namespace, name], so name targets after the workload label.",
    )
    query_label: str = Field(
        "aiops_shard",
        description="With the pull source: the label Prometheus adds at scrape time "
        "(metric_relabel_configs hashmod) that $shard in a query selects on.",
    )

    @model_validator(mode="after")
    def _ordinal_in_range(self) -> ShardConfig:
        if self.ordinal is not None and self.ordinal >= self.count:
            raise ValueError(f"shard.ordinal {self.ordinal} is not below shard.count {self.count}")
        return self

    @property
    def enabled(self) -> bool:
        return self.count > 1

    def resolved(self, environ: Mapping[str, str] | None = None,
                 hostname: str | None = None) -> ShardConfig:
        """This config with ``ordinal`` filled in ($AIOPS_SHARD, else the pod name)."""
        if self.ordinal is not None or not self.enabled:
            return self if self.ordinal is not None else self.model_copy(update={"ordinal": 0})
        env = os.environ if environ is None else environ
        raw = env.get("AIOPS_SHARD", "").strip()
        host = hostname if hostname is not None else socket.gethostname()
        ordinal = int(raw) if raw.isdigit() else ordinal_of(host)
        if ordinal is None:
            raise ValueError(
                f"shard.count is {self.count} but no ordinal is set: set shard.ordinal, "
                f"$AIOPS_SHARD, or run as a StatefulSet pod (hostname {host!r} has no -N)")
        if ordinal >= self.count:
            origin = "$AIOPS_SHARD" if raw.isdigit() else f"hostname {host!r}"
            raise ValueError(f"shard ordinal {ordinal} (from {origin}) is not below "
                             f"shard.count {self.count}")
        return self.model_copy(update={"ordinal": ordinal})

    def shard_of(self, labels: Mapping[str, str]) -> int:
        """The shard owning the workload with these labels."""
        return hashmod([labels.get(name, "") for name in self.labels], self.count)

    def owns(self, labels: Mapping[str, str]) -> bool:
        """Whether this shard owns the workload with these labels (always, unsharded)."""
        return not self.enabled or self.shard_of(labels) == (self.ordinal or 0)

    def owns_target(self, namespace: str, name: str) -> bool:
        """Whether this shard may act on the target ``namespace/name``."""
        return not self.enabled or hashmod([namespace, name], self.count) == (self.ordinal or 0)
