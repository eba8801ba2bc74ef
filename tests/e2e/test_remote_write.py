"""Real Prometheus 2.42 remote-writing to real daemons on loopback: scoring, restarts, shards.

One Prometheus for the module scrapes an exporter every second; each test points its
``remote_write`` at its daemons (config reload). The shard tests split the stream with
the stanza ``aiops deploy prometheus-config`` prints, so Prometheus' own ``hashmod``
decides who gets what, and the daemons must agree with it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from psycopg.rows import dict_row

from aiops.bench import realservers
from aiops.config import Config
from aiops.config.shard import hashmod
from aiops.daemon import Daemon, RunOptions
from aiops.engines.exporter import ExpositionServer, StaticSeries
from aiops.model import SeriesKey
from aiops.sources.base import SampleBatch
from aiops.sources.prometheus_stanza import remote_write
from tests.e2e.test_leader_failover import lease_writes
from tests.fakekube.plugin import deployment
from tests.fakekube.server import FakeKube, running
from tests.realservers.postgres import PgDatabase

pytestmark = pytest.mark.slow
WORKLOADS = [f"w{i}" for i in range(12)]
RUNBOOK = """apiVersion: aiops/v1
kind: Runbook
metadata: {name: rw-latency}
spec:
  mode: auto
  triggers:
    - anomaly: {metric: latency_p99, score_above: 0.9}
  target: {kind: Deployment, namespace: '{{ labels.namespace }}', name: '{{ labels.workload }}'}
  guards: {cooldown: 10m}
  steps:
    - action: restart
"""
LEASE, RENEW = 6.0, 2.0
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


class Stack:
    """The module's Prometheus and exporter; ``point`` rewrites its remote_write."""

    def __init__(self, workdir: Path) -> None:
        self.series = StaticSeries(prefix="rw_")
        self.exporter = ExpositionServer(self.series.render).start()
        # A reload waits for the old remote-write queues to flush (1 min by default): a
        # killed daemon would hold it that long.
        self.prom = realservers.prometheus(workdir, targets=[self.exporter.target],
                                           flags=["--storage.remote.flush-deadline=1s"])
        config = yaml.safe_load((workdir / "prometheus.yml").read_text())
        # A probe of Prometheus' own hashmod: every scraped series gets its shard of 7.
        config["scrape_configs"][0]["metric_relabel_configs"] = [
            {"source_labels": ["namespace", "workload"], "modulus": 7,
             "target_label": "hash7", "action": "hashmod"}]
        self.config = config
        self.path = workdir / "prometheus.yml"
        self.path.write_text(yaml.safe_dump(config))

    def point(self, urls: list[list[str]]) -> None:
        """Remote-write to ``urls[k]`` (the pods of shard k) and nothing else."""
        config = dict(self.config)
        config["remote_write"] = remote_write(urls, match="rw_.*") if urls else []
        self.path.write_text(yaml.safe_dump(config))
        r = httpx.post(f"{self.prom.url}/-/reload", timeout=30)
        assert r.status_code == 200, r.text

    def set_latency(self, value: float, workloads: list[str] = WORKLOADS) -> None:
        self.series.set_many((SeriesKey.of("latency_p99", namespace="shop", workload=w), value)
                             for w in workloads)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("rw-prom"))
    s.set_latency(0.2)
    s.prom.start()
    try:
        realservers.wait_for_up(s.prom.url, s.exporter.target)
        yield s
    finally:
        s.prom.stop()
        s.exporter.close()


def config(tmp: Path, name: str, port: int, **extra: Any) -> dict[str, Any]:
    books = tmp / "runbooks"
    books.mkdir(exist_ok=True)
    (books / "rw.yaml").write_text(RUNBOOK)
    return {
        "state_dir": str(tmp / name),
        "source": {"type": "remote_write", "remote_write": {
            "metrics": [{"name": "latency_p99", "match": "rw_latency_p99",
                         "keep_labels": ["namespace", "workload"]}],
            "backfill": False, "flush_interval": 0.1}},
        "detect": {"warmup": 4},
        "loop": {"interval": "2s", "backfill": 0},
        "runbooks": {"paths": [str(books)]},
        "http": {"port": port},
        "base_dir": str(tmp),
        **extra,
    }


class Running:
    """A daemon running in a thread of the test process (stopped gracefully)."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        self.daemon = Daemon(Config.model_validate(cfg), RunOptions())
        self._scored: set[tuple[str, float]] = set()
        self._lock = threading.Lock()
        assert self.daemon.push is not None
        self.daemon.push.on_scored = self._record
        self.thread = threading.Thread(target=self.daemon.run_forever, daemon=True)
        self.thread.start()
        wait("the daemon's HTTP server", lambda: self.daemon.http is not None, 30)

    def _record(self, batch: SampleBatch) -> None:
        keys = batch.table.keys
        got = {(keys[i].label("workload"), t) for i, t, v in
               zip(batch.index.tolist(), batch.t.tolist(), batch.value.tolist(), strict=True)
               if v == v}
        with self._lock:
            self._scored |= got

    @property
    def scored(self) -> set[tuple[str, float]]:
        """(workload, timestamp) of every sample this daemon scored."""
        with self._lock:
            return set(self._scored)

    def stop(self) -> None:
        self.daemon.request_stop()
        self.thread.join(30)

    def targets(self) -> set[str]:
        """Workloads this daemon opened an incident for."""
        rows = self.daemon.journal.incidents_json(limit=100, status=None)
        return {str(r["target"]).rsplit("/", 1)[-1] for r in rows}


def wait(what: str, predicate: Callable[[], object], timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return time.monotonic()
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def write_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/api/v1/write"


def stored(stack: Stack, workload: str, start: float, end: float) -> set[float]:
    """Timestamps Prometheus holds for one test series in [start, end]."""
    span = max(1, int(end - start) + 1)
    result = realservers.query(
        stack.prom.url, f'rw_latency_p99{{workload="{workload}"}}[{span}s]', timeout=10)
    return {float(t) for r in result for t, _ in r["values"] if start <= float(t) <= end}


def test_hashmod_agrees_with_prometheus(stack: Stack) -> None:
    """Prometheus' relabel hashmod and aiops' shard_of give every workload the same shard."""
    result = realservers.wait_for(stack.prom.url, "rw_latency_p99", min_series=len(WORKLOADS))
    seen = {r["metric"]["workload"]: int(r["metric"]["hash7"]) for r in result}
    assert seen == {w: hashmod(["shop", w], 7) for w in WORKLOADS}
    assert len(set(seen.values())) > 3  # the probe spans several shards


def test_samples_arrive_score_and_raise_incidents(stack: Stack, tmp_path: Path) -> None:
    """Pushed samples are scored; a latency jump raises an incident for each workload."""
    port = realservers.free_port()
    d = Running(config(tmp_path, "a", port, actuator={"type": "record"}))
    try:
        stack.set_latency(0.2)
        stack.point([[write_url(port)]])
        wait("samples to be scored", lambda: len(d.scored) >= 8 * len(WORKLOADS), 40)
        assert d.daemon.push is not None and d.daemon.push.counts["foreign"] == 0
        stack.set_latency(5.0, WORKLOADS[:3])
        wait("incidents for the spiked workloads",
             lambda: d.targets() >= set(WORKLOADS[:3]), 30)
        assert d.targets() == set(WORKLOADS[:3])
        lag = d.daemon.push.metrics.lag  # every scored sample's scrape-to-score lag
        assert int(lag.counts.sum()) >= len(d.scored) and lag.quantile(0.5) > 0
    finally:
        stack.set_latency(0.2)
        stack.point([])
        d.stop()


def test_a_restart_loses_no_sample(stack: Stack, tmp_path: Path) -> None:
    """Stopped and restarted on the same port: every sample Prometheus stored meanwhile is
    scored by one daemon or the other (Prometheus retried what got no 2xx)."""
    port = realservers.free_port()
    first = Running(config(tmp_path, "a", port, actuator={"type": "record"}))
    stack.point([[write_url(port)]])
    try:
        wait("samples to be scored", lambda: len(first.scored) >= 5 * len(WORKLOADS), 40)
        start = min(t for _, t in first.scored)
    finally:
        first.stop()
    stopped = time.time()
    time.sleep(4.0)  # Prometheus keeps scraping; its sends fail and are retried
    second = Running(config(tmp_path, "a", port, actuator={"type": "record"}))
    try:
        restarted = time.time()
        wait("samples scraped after the restart",
             lambda: any(t > restarted + 2 for _, t in second.scored), 40)
        end = restarted
        for w in WORKLOADS[:4]:
            want = stored(stack, w, start, end)
            got = {t for wl, t in first.scored | second.scored if wl == w}
            assert len([t for t in want if stopped < t < restarted]) >= 2  # the downtime
            assert want <= got, f"{w}: lost {sorted(want - got)}"
    finally:
        stack.point([])
        second.stop()


def test_two_shards_each_act_only_on_their_workloads(stack: Stack, tmp_path: Path) -> None:
    """Prometheus splits the stream by hashmod; each shard scores and acts only on its own."""
    ports = [realservers.free_port(), realservers.free_port()]
    shards = [Running(config(tmp_path, f"s{k}", ports[k], actuator={"type": "record"},
                             shard={"count": 2, "ordinal": k})) for k in range(2)]
    own = [{w for w in WORKLOADS if hashmod(["shop", w], 2) == k} for k in range(2)]
    assert own[0] and own[1]
    try:
        stack.set_latency(0.2)
        stack.point([[write_url(ports[0])], [write_url(ports[1])]])
        for k, d in enumerate(shards):
            wait(f"shard {k} to score", lambda d=d, k=k: len(d.scored) >= 6 * len(own[k]), 40)
        stack.set_latency(5.0)
        for k, d in enumerate(shards):
            wait(f"shard {k}'s incidents", lambda d=d, k=k: d.targets() >= own[k], 30)
        for k, d in enumerate(shards):
            assert d.targets() == own[k]
            assert {w for w, _ in d.scored} == own[k]
            assert d.daemon.push is not None and d.daemon.push.counts["foreign"] == 0
    finally:
        stack.set_latency(0.2)
        stack.point([])
        for d in shards:
            d.stop()


# -- failover: subprocesses, SIGKILL, the Lease on the fake API server ---------------------


def ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def scored_count(port: int) -> float:
    """The daemon's ``aiops_remote_write_samples_total{result="scored"}`` (0 if down)."""
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
    except httpx.HTTPError:
        return 0.0
    return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples
               if s.name == "aiops_remote_write_samples_total"
               and s.labels.get("result") == "scored")


def holder(kube: FakeKube) -> str | None:
    """Who holds shard 0's Lease on the fake API server (None: no Lease yet)."""
    try:
        return str(kube.get("leases", "shop", "aiops-leader-0")["spec"]["holderIdentity"])
    except AssertionError:
        return None


def journal_rows(db: PgDatabase, sql: str) -> list[dict[str, Any]]:
    """Rows of shard 0's journal schema (none before its migration)."""
    try:
        with psycopg.connect(db.dsn, row_factory=dict_row) as conn:
            return conn.execute(sql).fetchall()
    except psycopg.errors.UndefinedTable:
        return []


@pytest.fixture
def kube() -> Iterator[FakeKube]:
    yield from running()


def test_a_killed_shard_leader_is_taken_over_by_its_standby(
    stack: Stack, tmp_path: Path, kube: FakeKube, pg_db: PgDatabase
) -> None:
    """Shard 0's pair on Lease aiops-leader-0 and journal schema aiops_0: kill -9 the leader
    after it acted; the standby (fed by Prometheus all along) takes the Lease over and does
    not act again."""
    mine = next(w for w in WORKLOADS if hashmod(["shop", w], 2) == 0)
    own = [w for w in WORKLOADS if hashmod(["shop", w], 2) == 0]
    kube.create("deployments", deployment(mine))
    ports = {"a": realservers.free_port(), "b": realservers.free_port()}
    log = tmp_path / "daemons.log"
    procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(name: str) -> None:
        cfg = config(tmp_path, name, ports[name], shard={"count": 2, "ordinal": 0},
                     journal=yaml.safe_load(pg_db.yaml())["journal"],
                     actuator={"type": "kubernetes", "kubernetes": {
                         "host": kube.url, "backoff": 0.05, "leader_election": {
                             "enabled": True, "namespace": "shop", "identity": name,
                             "lease_duration": f"{LEASE}s", "renew_period": f"{RENEW}s"}}})
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump({k: v for k, v in cfg.items() if k != "base_dir"}))
        procs[name] = subprocess.Popen(
            [sys.executable, "-m", "aiops", "run", "--config", str(path), "--log-format",
             "json"], stdout=subprocess.DEVNULL, stderr=log.open("ab"),
            start_new_session=True)

    done = "SELECT * FROM aiops_0.actions WHERE status = 'done'"
    try:
        stack.set_latency(0.2)
        start("a")
        wait("a to lead", lambda: holder(kube) == "a", 40)
        start("b")
        stack.point([[write_url(ports["a"]), write_url(ports["b"])]])
        wait("a to be ready (leader, fed)", lambda: ready(ports["a"]), 40)
        wait("both to warm up on the pushed samples",
             lambda: min(scored_count(p) for p in ports.values()) >= 8 * len(own), 40)
        stack.set_latency(5.0, [mine])
        wait("a to restart the workload", lambda: journal_rows(pg_db, done), 40)
        os.killpg(procs["a"].pid, signal.SIGKILL)
        wait("b to lead", lambda: ready(ports["b"]), LEASE + 2 * RENEW + 20)
        # The anomaly is still on: b scores it (four more scrapes) and must not act again.
        base = scored_count(ports["b"])
        wait("b to score the anomaly as leader",
             lambda: scored_count(ports["b"]) >= base + 4 * len(own), 30)
        assert holder(kube) == "b"
    finally:
        stack.set_latency(0.2)
        stack.point([])
        for p in procs.values():
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
    # Never two leaders: every renewal by a precedes b's first, one transition later (how
    # long b waits for an expired Lease is pinned on a simulated clock, tests/actuators).
    holders = [who for who, _ in lease_writes(kube)]
    assert "a" in holders and "b" in holders
    assert "a" not in holders[holders.index("b"):], holders
    transitions = [n for who, n in lease_writes(kube) if who == "b"]
    assert transitions[0] == max(n for who, n in lease_writes(kube) if who == "a") + 1
    restarts = [w for w in kube.writes(rf"/deployments/{mine}$")
                if w.status < 300 and RESTARTED_AT in str(w.body)]
    assert len(restarts) == 1, f"{mine} was restarted {len(restarts)} times"
    actions = journal_rows(pg_db, "SELECT * FROM aiops_0.actions")
    assert [(x["kind"], x["status"]) for x in actions] == [("restart", "done")], actions
    incidents = journal_rows(pg_db, "SELECT * FROM aiops_0.incidents")
    assert [i["target"].rsplit("/", 1)[-1] for i in incidents] == [mine]
