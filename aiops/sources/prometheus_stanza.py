"""The Prometheus configuration that feeds N aiops shards (``aiops deploy prometheus-config``).

With remote write, Prometheus splits the stream itself: one ``remote_write`` entry per
aiops pod, each keeping only the series aiops scores (``__name__``) whose workload
labels ``hashmod`` to that pod's shard. Both pods of a shard's pair get the same
stream, so the standby's detectors stay warm; the temporary hash label is dropped
before sending, so series look the same whatever N is. ``queue_config`` suits a receiver
that answers once it has scored: each request waits for the next scoring step, and a
step costs about the same for any number of samples (the bank steps every series), so
one round of requests should carry a whole scrape of a shard, and carry it at once:

- 16 to 32 queue shards of up to 10,000 samples per request: 160,000 to 320,000 samples
  in flight, so a scrape of up to 160,000 series is scored in one step (the old 2,000 x 8
  took one step per 16,000 samples, each round trip waiting out ``flush_interval``);
- ``batch_send_deadline`` 100 ms: a queue shard's part of a scrape is a partial batch, sent
  when the deadline passes, so the deadline is paid once per scrape (a trickle costs
  more, small requests, which the receiver queues for its next step anyway);
- ``capacity`` three batches per queue shard; ``retry_on_http_429`` makes Prometheus 2.x
  retry a 429 as well as every 5xx.

With pull, each shard's queries select ``aiops_shard="<k>"`` (``$shard`` in a query),
a label the scrape jobs add with ``metric_relabel_configs`` (:func:`pull_relabel`).

>>> rw = remote_write([["http://a-0/api/v1/write"], ["http://a-1/api/v1/write"]],
...                   match="aiops:.*")
>>> [e["name"] for e in rw]
['aiops-shard-0-0', 'aiops-shard-1-0']
>>> rw[1]["write_relabel_configs"][2]
{'source_labels': ['__tmp_aiops_shard'], 'regex': '1', 'action': 'keep'}
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

HASH_LABEL = "__tmp_aiops_shard"
QUEUE: dict[str, Any] = {
    "capacity": 30_000,
    "max_samples_per_send": 10_000,
    "batch_send_deadline": "100ms",
    "min_shards": 16,
    "max_shards": 32,
    "min_backoff": "30ms",
    "max_backoff": "5s",
    "retry_on_http_429": True,
}


def remote_write(
    urls: Sequence[Sequence[str]], *, match: str, labels: Sequence[str] = ("namespace", "workload"),
    credentials_file: str | None = None, queue: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """``remote_write`` entries: ``urls[k]`` are the pods of shard ``k`` (a pair, usually).

    ``match`` is a regex on ``__name__`` of the series aiops scores.
    """
    shards = len(urls)
    out: list[dict[str, Any]] = []
    for k, pods in enumerate(urls):
        relabel: list[dict[str, Any]] = [
            {"source_labels": ["__name__"], "regex": match, "action": "keep"}]
        if shards > 1:
            relabel += [
                {"source_labels": list(labels), "modulus": shards, "target_label": HASH_LABEL,
                 "action": "hashmod"},
                {"source_labels": [HASH_LABEL], "regex": str(k), "action": "keep"},
                {"regex": HASH_LABEL, "action": "labeldrop"},
            ]
        for m, url in enumerate(pods):
            entry: dict[str, Any] = {
                "name": f"aiops-shard-{k}-{m}", "url": url, "remote_timeout": "30s",
                "write_relabel_configs": copy.deepcopy(relabel),  # no YAML aliases
                "queue_config": dict(queue if queue is not None else QUEUE),
                "metadata_config": {"send": False},
            }
            if credentials_file:
                entry["authorization"] = {"credentials_file": credentials_file}
            out.append(entry)
    return out


def pod_urls(shards: int, *, template: str, members: Sequence[str]) -> list[list[str]]:
    """Each shard's pod URLs from ``template`` (``{member}`` and ``{shard}`` filled in).

    >>> pod_urls(2, template="http://aiops-{member}-{shard}/w", members=["a", "b"])
    [['http://aiops-a-0/w', 'http://aiops-b-0/w'], ['http://aiops-a-1/w', 'http://aiops-b-1/w']]
    """
    return [[template.format(member=m, shard=k) for m in members] for k in range(shards)]


def pull_relabel(shards: int, *, label: str = "aiops_shard",
                 derive_workload: bool = True) -> list[dict[str, Any]]:
    """``metric_relabel_configs`` giving each scraped series its shard label.

    ``derive_workload`` first derives the workload from the pod name as the built-in
    queries do (StatefulSet ``db-0``, then Deployment ``web-5d9c7b6f4-x2x7q``; a
    ``workload`` label, where there is one, wins) into a temporary label, for scrape jobs
    (cAdvisor) whose series have no ``workload``.
    """
    rules: list[dict[str, Any]] = []
    source = ["namespace", "workload"]
    if derive_workload:
        tmp = "__tmp_aiops_workload"
        rules += [
            {"source_labels": ["pod"], "regex": "(.+)-[0-9]+", "target_label": tmp},
            {"source_labels": ["pod"], "regex": "(.+)-[a-z0-9]{5,10}-[a-z0-9]{5}",
             "target_label": tmp},
            {"source_labels": ["workload"], "regex": "(.+)", "target_label": tmp},
        ]
        source = ["namespace", tmp]
    rules.append({"source_labels": source, "modulus": shards, "target_label": label,
                  "action": "hashmod"})
    if derive_workload:
        rules.append({"regex": "__tmp_aiops_workload", "action": "labeldrop"})
    return rules
