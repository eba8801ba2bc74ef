"""``aiops bench chaos``: kill -9 a real daemon again and again while alerts drive its runbooks,
then count what was doubled and what was lost.

A real ``aiops run`` process receives Alertmanager v4 webhook bodies over HTTP (from
:class:`~aiops.bench.chaos_feed.Sender`, which retries each body until a 2xx, like
Alertmanager) and runs alert-driven ``command`` steps: a script that appends
``$AIOPS_ACTION_ID`` to a file when it starts and again when its effect lands. Each
*life* of the daemon ends in ``SIGKILL`` to its process group, at a seeded choice of
moment: *targeted* kills strike while a step runs (after a random 0-80 ms, so before or
after its effect, before its outcome is journaled), the others after a random time.
A last life runs until every acknowledged alert is handled and no incident is running,
then stops on SIGTERM.

What is counted (from the journal and the script's files, after the last life):

- **acked**: alerts answered 2xx; **applied**: action ids whose effect happened;
- **doubled**: action ids whose effect happened twice, or a step that is not idempotent
  run twice (a blind re-run, even one killed before its effect);
- **lost**: acknowledged alerts that produced neither a decision (an incident, or a skip
  with its reason) nor stayed queued: the webhook's 2xx promise broken;
- **needs-attention**: incidents stopped because a step that is not idempotent was
  killed mid-run (its outcome unknown): they wait for a person, never re-run.

Runbook ``chaos-once`` has steps that are not idempotent; ``chaos-rerun`` marks them
``idempotent: true`` and its script ignores an id it has seen (as the runbook docs
suggest), so after a crash it is re-run with the same id and its effect stays single.
The same harness drives Kubernetes steps against a fake API server in the test suite
(``tests/faults``): a :class:`Scenario` supplies the runbooks, actuator and effects.
"""

from __future__ import annotations

import dataclasses
import json
import random
import sqlite3
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
import yaml

from aiops.bench.chaos_feed import Body, Sender, bodies, load_template
from aiops.bench.chaos_launch import Launcher, Life
from aiops.bench.realservers import free_port
from aiops.journal import Journal

OnSpawn = Callable[[int], None]
Kill = Callable[[], None]
#: How long a targeted kill waits for a step to start before striking anyway.
STRIKE_WAIT = 8.0
#: The first and the last life wait this long at most (start-up, then quiescence).
LIFE_LIMIT = 90.0


@dataclass(frozen=True, kw_only=True, slots=True)
class Effect:
    """How often an action id ran (reached its actuator) and how often its effect landed."""

    runs: int
    applied: int


class Scenario(Protocol):
    """What the daemon runs and how its effects are read back."""

    name: str
    alertnames: tuple[str, ...]
    #: Runbooks whose steps may run twice (idempotent); a re-run elsewhere is doubled.
    idempotent: frozenset[str]

    def target(self, j: int) -> tuple[str, str]:
        """The (namespace, name) of the Deployment alert ``j`` is about."""

    def runbooks(self) -> Mapping[str, str]: ...

    def actuator(self) -> dict[str, Any]: ...

    def strike(self, kill: Kill, rng: random.Random, alive: Callable[[], bool]) -> None:
        """Kill the daemon (``kill()``) while one of its steps runs, or give up."""

    def effects(self) -> Mapping[str, Effect]: ...


SCRIPT = """#!/bin/sh
# chaos step: $1 = once | dedupe, $2 = directory of the begun/applied files
echo "$AIOPS_ACTION_ID" >> "$2/begun"
sleep 0.05
if [ "$1" = dedupe ] && grep -qxF "$AIOPS_ACTION_ID" "$2/applied" 2>/dev/null; then exit 0; fi
echo "$AIOPS_ACTION_ID" >> "$2/applied"
"""

RUNBOOK = """apiVersion: aiops/v1
kind: Runbook
metadata: {{name: {name}}}
spec:
  mode: auto
  triggers:
    - alert: {{alertname: {alert}, status: firing}}
  target: {{kind: Deployment, namespace: '{{{{ labels.namespace }}}}',
           name: '{{{{ labels.deployment }}}}'}}
  guards: {{cooldown: 1m}}
  steps:
    - action: command
      with: {{argv: [{script}, {mode}, {dir}]}}
      idempotent: {idempotent}
    - action: command
      with: {{argv: [{script}, {mode}, {dir}]}}
      idempotent: {idempotent}
"""


class CommandScenario:
    """Alert-driven ``command`` steps; effects are lines in ``begun`` and ``applied``."""

    name: str = "command"
    alertnames: tuple[str, ...] = ("ChaosOnce", "ChaosRerun")
    idempotent: frozenset[str] = frozenset({"chaos-rerun"})

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir / "world"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.script = workdir / "step.sh"
        self.script.write_text(SCRIPT)
        self.script.chmod(0o755)

    def target(self, j: int) -> tuple[str, str]:
        return "chaos", f"chaos-{j:03d}"

    def runbooks(self) -> Mapping[str, str]:
        common = {"script": json.dumps(str(self.script)), "dir": json.dumps(str(self.dir))}
        return {
            "once.yaml": RUNBOOK.format(name="chaos-once", alert="ChaosOnce", mode="once",
                                        idempotent="false", **common),
            "rerun.yaml": RUNBOOK.format(name="chaos-rerun", alert="ChaosRerun",
                                         mode="dedupe", idempotent="true", **common),
        }

    def actuator(self) -> dict[str, Any]:
        return {"type": "record"}

    def _lines(self, name: str) -> list[str]:
        path = self.dir / name
        return path.read_text().split() if path.exists() else []

    def strike(self, kill: Kill, rng: random.Random, alive: Callable[[], bool]) -> None:
        base = len(self._lines("begun"))
        deadline = time.monotonic() + STRIKE_WAIT
        while len(self._lines("begun")) == base and alive() and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.08))
        kill()

    def effects(self) -> Mapping[str, Effect]:
        runs, applied = Counter(self._lines("begun")), Counter(self._lines("applied"))
        return {i: Effect(runs=runs[i], applied=applied[i]) for i in runs | applied}


@dataclass(frozen=True, kw_only=True, slots=True)
class ChaosReport:
    """The figures of one chaos run (see the module docstring)."""

    scenario: str
    seed: int
    kills: int
    targeted: int
    alerts: int
    acked: int
    applied: int
    doubled: int
    lost: int
    needs_attention: int
    reruns: int
    incidents: int
    unknown_at_kill: tuple[str, ...] = ()
    #: Every incident at the end: id -> (runbook, status).
    final: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)

    def render(self) -> str:
        rows = [("kills", self.kills), ("alerts acked", f"{self.acked} of {self.alerts}"),
                ("actions applied", self.applied), ("doubled", self.doubled),
                ("lost", self.lost), ("needs-attention", self.needs_attention),
                ("idempotent re-runs", self.reruns), ("incidents", self.incidents),
                ("kills mid-action", len(self.unknown_at_kill))]
        head = f"chaos ({self.scenario}, seed {self.seed}, {self.targeted} targeted kills)"
        return "\n".join([head, *(f"  {k:<20} {v}" for k, v in rows)])

    def as_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "seed": self.seed, "kills": self.kills,
                "targeted": self.targeted, "alerts": self.alerts, "acked": self.acked,
                "applied": self.applied, "doubled": self.doubled, "lost": self.lost,
                "needs_attention": self.needs_attention, "reruns": self.reruns,
                "incidents": self.incidents, "kills_mid_action": len(self.unknown_at_kill)}


def _config(workdir: Path, scenario: Scenario, port: int) -> Path:
    books = workdir / "runbooks"
    books.mkdir(exist_ok=True)
    for name, text in scenario.runbooks().items():
        (books / name).write_text(text)
    csv = workdir / "empty.csv"
    csv.write_text(f"timestamp,metric,namespace,workload,value\n{time.time():.0f},x,n,w,0\n")
    cfg = {
        "state_dir": str(workdir / "state"),
        "source": {"type": "replay", "replay": {"path": str(csv)}},
        "actuator": scenario.actuator(),
        "loop": {"interval": "500ms", "speed": 1.0, "backfill": "0s"},
        "runbooks": {"paths": [str(books)]},
        "http": {"port": port},
        "guards": {"changes_per_hour": 100000},
    }
    path = workdir / "aiops.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _ro(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    db.row_factory = sqlite3.Row
    return db


def _started(journal: Path) -> list[str]:
    """Action ids journaled ``started`` without an outcome (the daemon died mid-action)."""
    if not journal.exists():
        return []
    db = _ro(journal)
    try:
        return [r["id"] for r in db.execute("SELECT id FROM actions WHERE status = 'started'")]
    except sqlite3.OperationalError:
        return []
    finally:
        db.close()


def _settled(journal: Path) -> bool:
    """Every stored alert handled and no incident running or queued."""
    if not journal.exists():
        return False
    db = _ro(journal)
    try:
        unhandled = db.execute("SELECT COUNT(*) FROM signals WHERE kind = 'alert' AND"
                               " handled_at IS NULL").fetchone()[0]
        busy = db.execute("SELECT COUNT(*) FROM incidents WHERE status IN"
                          " ('running', 'queued')").fetchone()[0]
        return int(unhandled) == 0 and int(busy) == 0
    except sqlite3.OperationalError:
        return False
    finally:
        db.close()


def _wait(what: str, predicate: Callable[[], bool], life: Life, limit: float) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        if not life.alive():
            raise RuntimeError(f"the daemon exited ({life.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {limit:.0f}s waiting for {what}")
        time.sleep(0.05)


def _http_up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def run_chaos(
    scenario: Scenario, *, kills: int = 30, alerts: int | None = None, seed: int = 11,
    workdir: Path | None = None, template: Path | None = None, targeted: float = 0.6,
    on_spawn: OnSpawn | None = None, launcher: Launcher | None = None,
) -> ChaosReport:
    """Run ``kills`` lives ending in SIGKILL and a last clean one; count the damage.

    ``on_spawn`` sees every daemon process started (a test registers them for cleanup);
    ``launcher`` is a fork server to reuse (default: one of its own for this run).
    """
    if workdir is None:
        workdir = Path(tempfile.mkdtemp(prefix="aiops-chaos-"))
    rng = random.Random(seed)
    total = alerts if alerts is not None else 3 * kills
    feed = bodies(load_template(template), alerts=total, alertnames=scenario.alertnames,
                  target=scenario.target, rng=rng)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = ["run", "--config", str(_config(workdir, scenario, port)), "--log-format", "json"]
    journal = workdir / "state" / "journal.sqlite"

    log = workdir / "daemon.log"
    server = launcher or Launcher(args, log)

    def spawn() -> Life:
        life = server.spawn(args, log=log)
        if on_spawn is not None:
            on_spawn(life.pid)
        lives.append(life)
        return life

    sender = Sender(url=f"{url}/v1/alerts").start()
    unknown: list[str] = []
    strikes = 0
    lives: list[Life] = []
    timeline: list[tuple[float, float]] = []  # per life: seconds to HTTP, then to the kill
    try:
        for k in range(kills + 1):
            began = time.monotonic()
            life = spawn()
            _wait("HTTP to answer", lambda: _http_up(url), life, LIFE_LIMIT)
            up = time.monotonic()
            if k == kills:  # the last life: everything delivered, handled, settled
                sender.release(feed[len(feed) * k // max(kills, 1):])
                _wait("every alert acknowledged and handled",
                      lambda: sender.pending == 0 and _settled(journal), life, LIFE_LIMIT)
                code = life.stop()
                if code != 0:
                    raise RuntimeError(f"the last daemon did not stop cleanly (exit {code})")
                break
            sender.release(feed[len(feed) * k // kills: len(feed) * (k + 1) // kills])
            if rng.random() < targeted:
                strikes += 1
                scenario.strike(life.kill, rng, life.alive)
            else:
                time.sleep(rng.uniform(0.1, 1.5))
            life.kill()
            unknown += _started(journal)
            timeline.append((round(up - began, 2), round(time.monotonic() - up, 2)))
    finally:
        sender.stop()
        for one in lives:
            if one.alive():
                one.kill()
        if launcher is None:
            server.close()
    report = _count(scenario, journal, sender.acked, seed=seed, kills=kills,
                    targeted=strikes, alerts=total, unknown=unknown)
    return dataclasses.replace(report, details={**report.details, "lives": timeline})


def _count(scenario: Scenario, path: Path, acked: Sequence[Body], *, seed: int, kills: int,
           targeted: int, alerts: int, unknown: Sequence[str]) -> ChaosReport:
    journal = Journal(path)
    try:
        incidents = journal.incidents(limit=10**6)
        decided = {i.signal_key for i in incidents}
        decided |= {str(e.detail.get("signal")) for e in journal.events(limit=10**6)
                    if e.kind == "skipped"}
        unhandled = {a.dedup_key for a in journal.unhandled_alerts(limit=10**6)}
        runbook_of = {i.id: i.runbook for i in incidents}
        final = {i.id: (i.runbook, i.status.value) for i in incidents}
    finally:
        journal.close()
    keys = [k for b in acked for k in b.keys]
    lost = [k for k in keys if k not in decided or k in unhandled]
    effects = scenario.effects()

    def runbook(action_id: str) -> str:
        return runbook_of.get(action_id.rsplit(":", 1)[0], "")

    doubled = [i for i, e in effects.items() if e.applied > 1 or (
        e.runs > 1 and runbook(i) not in scenario.idempotent)]
    reruns = sum(1 for i, e in effects.items()
                 if e.runs > 1 and runbook(i) in scenario.idempotent)
    return ChaosReport(
        scenario=scenario.name, seed=seed, kills=kills, targeted=targeted, alerts=alerts,
        acked=len(set(keys)), applied=sum(1 for e in effects.values() if e.applied),
        doubled=len(doubled), lost=len(set(lost)),
        needs_attention=sum(1 for _, st in final.values() if st == "needs-attention"),
        reruns=reruns, incidents=len(incidents), unknown_at_kill=tuple(dict.fromkeys(unknown)),
        final=final,
        details={"doubled": sorted(doubled), "lost": sorted(set(lost))},
    )
