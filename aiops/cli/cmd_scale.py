"""``aiops deploy prometheus-config`` and ``aiops bench ingest``: running past one process.

``aiops deploy prometheus-config --shards N`` prints the Prometheus configuration that
feeds N shards: one ``remote_write`` per aiops pod, each keeping the workloads whose
labels ``hashmod`` to its shard (or, ``--mode pull``, the ``metric_relabel_configs``
that label every scraped series with its shard for ``$shard`` in queries).
``aiops bench ingest`` measures remote write at scale (:mod:`aiops.bench.ingest`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Literal

import typer
import yaml

from aiops.cli.app import app, bench_app
from aiops.config import load_config
from aiops.errors import AiopsError

deploy_app = typer.Typer(help="Configuration for the systems aiops runs beside.")
app.add_typer(deploy_app, name="deploy")

POD_URL = "http://aiops-{member}-{shard}.aiops-shards.aiops.svc:9464/api/v1/write"


@deploy_app.command("prometheus-config")
def prometheus_config(
    shards: Annotated[int, typer.Option(min=1, max=4096, help="Number of shards (N).")] = 1,
    mode: Annotated[Literal["push", "pull"], typer.Option(
        help="push: remote_write entries; pull: metric_relabel_configs for scrape jobs.")
    ] = "push",
    url: Annotated[str, typer.Option(
        help="URL of one pod; {shard} and {member} are filled in.")] = POD_URL,
    members: Annotated[str, typer.Option(
        help="Pods per shard (the HA pair), comma-separated: the {member} values.")] = "a,b",
    config: Annotated[Path | None, typer.Option(
        help="An aiops config: its remote_write metrics and shard labels are used.")] = None,
    credentials_file: Annotated[str | None, typer.Option(
        help="File on the Prometheus side holding a token with the role write.")] = None,
) -> None:
    """Print the Prometheus stanza that splits the stream over N aiops shards."""
    from aiops.config import Config
    from aiops.sources.prometheus_stanza import pod_urls, pull_relabel, remote_write
    from aiops.sources.promql_defaults import remote_write_metrics

    try:
        cfg = load_config(config) if config is not None else Config()
    except AiopsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    labels = cfg.shard.labels
    if mode == "pull":
        doc = {"metric_relabel_configs": pull_relabel(shards, label=cfg.shard.query_label)}
        head = (f"# Add to every scrape job whose series aiops queries: each series gets "
                f"{cfg.shard.query_label}=<shard of {'/'.join(labels)}> (hashmod {shards}),\n"
                f"# which $shard in source.prometheus queries selects.\n")
    else:
        rw = cfg.source.remote_write
        names = [m.match for m in (rw.metrics or remote_write_metrics(rw.preset))]
        match = "|".join(re.escape(n) for n in names)
        urls = pod_urls(shards, template=url, members=[m for m in members.split(",") if m])
        doc = {"remote_write": remote_write(urls, match=match, labels=labels,
                                            credentials_file=credentials_file)}
        head = (f"# Prometheus remote_write for {shards} aiops shard(s) x "
                f"{len(urls[0])} pod(s): each keeps the series of the workloads whose\n"
                f"# {'/'.join(labels)} hashmod {shards} to its shard (set shard.count: "
                f"{shards} in aiops' config).\n")
    typer.echo(head + yaml.safe_dump(doc, sort_keys=False, width=100), nl=False)


@bench_app.command("ingest")
def bench_ingest(
    series: Annotated[int, typer.Option(help="Series pushed and scraped.")] = 100_000,
    seconds: Annotated[float, typer.Option(help="Measured end-to-end window (s).")] = 60.0,
    out: Annotated[Path | None, typer.Option(help="Write the figures as JSON here.")] = None,
) -> None:
    """Remote write at scale: throughput per core, scrape-to-score lag, loss, pull beside."""
    from aiops.bench.ingest import run_bench
    from aiops.bench.realservers import ServerError
    from aiops.telemetry.logging import configure_logging

    configure_logging(level="warning")
    try:
        result = run_bench(series=series, seconds=seconds)
    except (ServerError, RuntimeError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(result.render())
    if out is not None:
        out.write_text(json.dumps(result.as_dict(), indent=2))
    if result.end_to_end.lost:
        raise typer.Exit(1)
