"""``aiops bench journal``: remediation decisions per second on each journal engine.

The same workload on SQLite (the shipped default: WAL, ``synchronous=FULL``, a file in a
temporary directory) and on PostgreSQL (a temporary Debian server with its default
durability, or ``--url``), by the real :class:`~aiops.engines.remediate.Remediator`
with a recording actuator: ``signals`` alerts over ``targets`` workloads, each handled
(claimed, matched, planned under the target's lock, journaled: one *decision*), with a
tick every ``tick_every`` signals that runs the opened incidents' actions. PostgreSQL is
also measured with two replicas (two processes) sharing the journal and the targets,
each handling its own half of the signals (their time is the slower one's, process
start-up excluded). Figures are ratios against SQLite in the
same run; every run also counts doubled actions (must be 0).
"""

from __future__ import annotations

import multiprocessing
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiops.actuators.record import RecordingActuator
from aiops.config.journal import JournalConfig
from aiops.engines.remediate import Remediator
from aiops.journal import Journal, JournalWriteError
from aiops.journal.connect import postgres_backend
from aiops.model import Alert
from aiops.runbook import parse_runbooks
from aiops.telemetry.logging import configure_logging, get_logger
from aiops.telemetry.metrics import Metrics

RUNBOOK = """
apiVersion: aiops/v1
kind: Runbook
metadata: {name: bench-restart}
spec:
  mode: auto
  triggers: [{alert: {alertname: BenchDown}}]
  target: {kind: SandboxWorkload, namespace: bench, name: '{{ labels.workload }}'}
  guards: {cooldown: 10m, max_runs: [{count: 3, per: 1h}]}
  steps: [{action: restart}]
"""
T0 = 1_800_000_000.0


@dataclass(frozen=True, kw_only=True, slots=True)
class EngineRun:
    """One engine's figures."""

    engine: str
    replicas: int
    decisions: int
    seconds: float
    actions: int
    doubled: int

    @property
    def per_second(self) -> float:
        return self.decisions / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"engine": self.engine, "replicas": self.replicas, "decisions": self.decisions,
                "seconds": round(self.seconds, 3), "decisions_per_s": round(self.per_second, 1),
                "actions": self.actions, "doubled": self.doubled}


def _alert(i: int, targets: int) -> Alert:
    return Alert(fingerprint=f"f{i}", status="firing",
                 labels={"alertname": "BenchDown", "workload": f"w{i % targets}"},
                 annotations={}, starts_at=f"s{i}", ends_at="", t=T0 + i)


def drive(journal: Journal, indices: range, targets: int, tick_every: int
          ) -> tuple[int, float, list[str]]:
    """Handle the alerts ``indices`` (ticking as it goes): decisions, seconds, action ids."""
    world = RecordingActuator(replicas=3)
    rem = Remediator(parse_runbooks(RUNBOOK, file="bench.yaml"), journal, world, Metrics(),
                     get_logger("bench"))
    decisions = 0
    start = time.perf_counter()
    for n, i in enumerate(indices, start=1):
        now = T0 + i
        try:
            rem.handle(_alert(i, targets), now)
            decisions += 1
            if n % tick_every == 0:
                rem.tick(now, {})
        except JournalWriteError:  # a deadlock or lost race between replicas: next time
            continue
    rem.tick(T0 + indices.stop, {})
    seconds = time.perf_counter() - start
    return decisions, seconds, [a.id for a in world.applied]


def _replica(cfg: dict[str, Any], indices: range, targets: int, tick_every: int,
             ) -> tuple[int, float, list[str]]:
    """One replica process of the two-replica run (spawned)."""
    configure_logging("console", level="warning")
    journal = Journal(backend=postgres_backend(JournalConfig.model_validate(cfg), Path("/")))
    try:
        return drive(journal, indices, targets, tick_every)
    finally:
        journal.close()


def run_engine(name: str, make: Callable[[], Journal], *, signals: int, targets: int,
               tick_every: int) -> EngineRun:
    journal = make()
    try:
        decisions, seconds, ids = drive(journal, range(signals), targets, tick_every)
    finally:
        journal.close()
    return EngineRun(engine=name, replicas=1, decisions=decisions, seconds=seconds,
                     actions=len(ids), doubled=len(ids) - len(set(ids)))


def run_replicas(cfg: JournalConfig, *, signals: int, targets: int, tick_every: int,
                 replicas: int = 2) -> EngineRun:
    """``replicas`` processes, each its share of the signals, on one PostgreSQL journal."""
    doc = {"url": cfg.url, "password_file": cfg.password_file, "schema": cfg.schema_name}
    Journal(backend=postgres_backend(cfg, Path("/"))).close()  # migrate once, up front
    shares = [range(r, signals, replicas) for r in range(replicas)]
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(replicas) as pool:
        results = pool.starmap(_replica, [(doc, s, targets, tick_every) for s in shares])
    ids = [i for _, _, got in results for i in got]
    return EngineRun(engine="postgresql", replicas=replicas,
                     decisions=sum(d for d, _, _ in results),
                     seconds=max(t for _, t, _ in results),  # they ran side by side
                     actions=len(ids), doubled=len(ids) - len(set(ids)))


def run(*, signals: int = 2000, targets: int = 50, tick_every: int = 10,
        url: str | None = None, password_file: str | None = None) -> list[EngineRun]:
    """SQLite, PostgreSQL, PostgreSQL with two replicas (a temporary server unless ``url``)."""
    from aiops.bench.pgserver import PgServer

    out: list[EngineRun] = []
    with tempfile.TemporaryDirectory(prefix="aiops-bench-journal-") as tmp:
        out.append(run_engine("sqlite", lambda: Journal(Path(tmp) / "journal.sqlite"),
                              signals=signals, targets=targets, tick_every=tick_every))
    server = None
    try:
        if url is None:
            server = PgServer().start()
            url = server.create_database("bench")
            password_file = str(server.password_file)
        for schema, replicas in (("bench_one", 1), ("bench_two", 2)):
            cfg = JournalConfig.model_validate(
                {"url": url, "password_file": password_file, "schema": schema})
            if replicas == 1:
                out.append(run_engine(
                    "postgresql", lambda cfg=cfg: Journal(  # type: ignore[misc]
                        backend=postgres_backend(cfg, Path("/"))),
                    signals=signals, targets=targets, tick_every=tick_every))
            else:
                out.append(run_replicas(cfg, signals=signals, targets=targets,
                                        tick_every=tick_every, replicas=replicas))
    finally:
        if server is not None:
            server.stop()
    return out
