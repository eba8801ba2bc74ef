"""``aiops bench attack``: hostile input against a running daemon, and what it did to it.

Against a real ``aiops run`` child process (:mod:`aiops.bench.attack_daemon`), in order:

1. **slowloris**: ``slowloris`` connections (another process) drip-feeding headers and
   reconnecting when shed, while ``/healthz`` is probed on fresh connections (p50/p99);
2. **big bodies**: a 1 GiB chunked body to each POST route while the daemon's RSS is
   sampled every 5 ms; reports bytes the server took before closing, and peak growth;
3. **fuzz**: ``bodies`` seeded hostile POSTs (:mod:`aiops.bench.attack_inputs`) to the
   webhook and approvals routes, 4 keep-alive senders; every answer must be below 500;
   then the time the remediate loop takes to work through the alerts accepted (each
   may hit a template bound, by design of the bait runbooks);
4. **planted secret**: an alert fires the runbook whose notify header is the secret by
   reference; once the receiver has it, every surface is searched for it: the journal
   (every file of the state directory), the daemon's log, ``/v1/incidents`` (list and
   each detail), ``/metrics`` and ``aiops incidents`` (table and ``--json``);

and counts crashed cycles (``cycle_crashed``, ASGI exceptions) in the daemon's log.
Slowloris runs first, on a quiet daemon, so its figure is the connection handling's
and not the remediate loop's backlog (which the drain time reports).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import random
import resource
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import httpx
import psutil

from aiops.bench.attack_daemon import AttackDaemon, running
from aiops.bench.attack_inputs import alert_payload, request

GiB = 1 << 30
CHUNK = 1 << 20
MAX_BODY = 1_048_576  # the default http.max_body_bytes
HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


@dataclass
class AttackReport:
    """Every figure ``aiops bench attack`` prints."""

    inputs: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    errors: int = 0
    cut_off: int = 0  # bodies past the cap whose upload the server ended (413 + close)
    body_bytes: int = GiB
    crashed_cycles: int = 0
    big_bodies: dict[str, dict[str, float]] = field(default_factory=dict)
    slowloris: dict[str, float] = field(default_factory=dict)
    backlog_seconds: float = 0.0
    accepted_alerts: int = 0
    secret_delivered: bool = False
    secrets_found: dict[str, int] = field(default_factory=dict)

    @property
    def server_errors(self) -> int:
        return sum(n for s, n in self.statuses.items() if s >= 500)

    def as_dict(self) -> dict[str, Any]:
        return {
            "inputs": self.inputs, "responses_5xx": self.server_errors,
            "connection_errors": self.errors, "uploads_cut_off": self.cut_off,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "crashed_cycles": self.crashed_cycles, "big_bodies": self.big_bodies,
            "accepted_alerts": self.accepted_alerts, "backlog_seconds": self.backlog_seconds,
            "slowloris": self.slowloris, "secret_delivered": self.secret_delivered,
            "secrets_found": self.secrets_found,
            "secrets_found_total": sum(self.secrets_found.values()),
        }

    def render(self) -> str:
        lines = [
            f"fuzz: {self.inputs} hostile bodies, {self.server_errors} answered 5xx, "
            f"{self.errors} connection errors, {self.cut_off} oversized uploads cut off; "
            "statuses "
            + ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items())),
            f"remediate loop worked through the {self.accepted_alerts} alerts accepted in "
            f"{self.backlog_seconds:.1f} s",
            f"crashed cycles: {self.crashed_cycles}",
        ]
        for path, b in self.big_bodies.items():
            lines.append(
                f"{self.body_bytes / GiB:g} GiB chunked body to {path}: server took "
                f"{b['sent_mb']:.1f} MB before closing ({b['answer']}), daemon RSS "
                f"+{b['rss_growth_mb']:.1f} MB at peak")
        if self.slowloris:
            s = self.slowloris
            lines.append(
                f"slowloris: {s['connections']:.0f} drip-feeding connections "
                f"({s['reconnects']:.0f} reconnects after being shed): /healthz p50 "
                f"{s['healthz_p50_ms']:.1f} ms, p99 {s['healthz_p99_ms']:.1f} ms, "
                f"{s['healthz_failures']:.0f} of {s['healthz_probes']:.0f} probes failed")
        found = ", ".join(f"{k} {v}" for k, v in self.secrets_found.items())
        lines.append(
            f"planted secret: delivered to the receiver: {self.secret_delivered}; "
            f"found on surfaces: {sum(self.secrets_found.values())} ({found})")
        return "\n".join(lines)


# -- 1. fuzz --------------------------------------------------------------------------


def _incidents(d: AttackDaemon) -> list[str]:
    r = httpx.get(f"{d.url}/v1/incidents?limit=10000", headers=d.auth("alice"), timeout=10)
    return [str(i["id"]) for i in r.json().get("incidents", [])]


def fuzz(d: AttackDaemon, report: AttackReport, *, bodies: int, seed: int = 12) -> None:
    """POST ``bodies`` hostile requests; count answers by status."""
    for i in range(5):  # incidents awaiting approval, for approvals to aim at
        payload = alert_payload(random.Random(i), alertname="NeedsApproval")
        for alert in payload["alerts"]:
            alert.update(status="firing", startsAt="2026-11-27T11:33:00Z",
                         labels={"alertname": "NeedsApproval", "namespace": "shop",
                                 "workload": ["cart", "checkout", "payments"][i % 3]})
        payload["version"] = "4"
        payload["truncatedAlerts"] = 0
        httpx.post(f"{d.url}/v1/alerts", json=payload, headers=d.auth("alertmanager"),
                   timeout=10)
    time.sleep(2.0)  # the remediate loop opens them
    incidents = _incidents(d)
    tokens = {"alerts": [d.tokens["alertmanager"]],
              "approve": [d.tokens["bob"], d.tokens["bob"], d.tokens["alice"]]}
    lock = threading.Lock()
    local = threading.local()

    def send(n: int) -> None:
        rng = random.Random(seed * 1_000_003 + n)
        req = request(rng, tokens=tokens, incidents=incidents)
        client: httpx.Client | None = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(timeout=30)
        try:
            r = client.post(f"{d.url}{req.path}", content=req.body, headers=req.headers)
            status, failed = r.status_code, False
        except httpx.HTTPError:
            status, failed = 0, True
            client.close()
            local.client = None
        with lock:
            report.inputs += 1
            if failed and len(req.body) > MAX_BODY:
                report.cut_off += 1  # answered 413 and closed while the client still wrote
            elif failed:
                report.errors += 1
            else:
                report.statuses[status] += 1

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(send, range(bodies)))


# -- 2. big bodies ----------------------------------------------------------------------


class PeakRss:
    """Samples a process's RSS every 5 ms."""

    def __init__(self, pid: int) -> None:
        self.proc = psutil.Process(pid)
        self.base = self.proc.memory_info().rss
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            with contextlib.suppress(psutil.Error):
                self.peak = max(self.peak, self.proc.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def push_chunked(port: int, path: str, token: str, total: int = GiB) -> tuple[int, bytes]:
    """Stream up to ``total`` bytes as a chunked JSON body; the bytes sent and the answer."""
    piece = b"%x\r\n" % CHUNK + b" " * CHUNK + b"\r\n"
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                  "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                  .encode() + b"6\r\n{\"a\":[\r\n")
        with contextlib.suppress(OSError):
            while sent < total:
                s.sendall(piece)
                sent += CHUNK
            s.sendall(b"0\r\n\r\n")
        answer = b""
        with contextlib.suppress(OSError):
            while chunk := s.recv(65536):
                answer += chunk
    return sent, answer


def big_bodies(d: AttackDaemon, report: AttackReport, *, total: int = GiB) -> None:
    """A ``total``-byte chunked body to each POST route, RSS sampled."""
    incident = (_incidents(d) or ["none"])[0]
    routes = {"/v1/alerts": d.tokens["alertmanager"],
              f"/v1/approvals/{incident}": d.tokens["alice"]}
    for path, token in routes.items():
        with PeakRss(d.pid) as rss:
            sent, answer = push_chunked(d.port, path, token, total)
        status = answer.split(b"\r\n", 1)[0].decode(errors="replace") or "connection closed"
        report.big_bodies[path.split("/")[2]] = {
            "sent_mb": sent / CHUNK, "rss_growth_mb": (rss.peak - rss.base) / CHUNK,
            "answer": status,  # type: ignore[dict-item]
        }


# -- 3. slowloris -----------------------------------------------------------------------


def _raise_fds(want: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def _drip(port: int, n: int, interval: float, ready: Event, stop: Event, out: Any) -> None:
    """Child process: hold ``n`` connections, each sending a header line every ``interval``
    seconds (paced evenly, as slowloris does), reconnecting at once when the server sheds it.
    """
    _raise_fds(n + 256)

    def connect() -> socket.socket | None:
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect_ex(("127.0.0.1", port))
        except OSError:
            s.close()
            return None
        return s

    socks = [connect() for _ in range(n)]
    started = [False] * n
    reconnects = 0
    ready.set()
    tick = 0.05
    per_tick = max(1, int(n * tick / interval))
    i = 0
    while not stop.is_set():
        for _ in range(per_tick):
            i = (i + 1) % n
            s = socks[i]
            if s is None:
                socks[i] = connect()
                continue
            try:
                s.send(b"X-a: b\r\n" if started[i] else b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                started[i] = True
            except BlockingIOError:
                pass
            except OSError:
                s.close()
                socks[i], started[i] = connect(), False
                reconnects += 1
        stop.wait(tick)
    for s in socks:
        if s is not None:
            s.close()
    out.put({"connections": n, "reconnects": reconnects})


def _probe(port: int) -> float | None:
    t0 = time.perf_counter()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(HEALTHZ)
            answer = b""
            while chunk := s.recv(4096):
                answer += chunk
    except OSError:
        return None
    return time.perf_counter() - t0 if answer.startswith(b"HTTP/1.1 200") else None


def slowloris(d: AttackDaemon, report: AttackReport, *, connections: int, probes: int = 1000,
              interval: float = 5.0) -> None:
    """Drip-feeding connections in a child process while /healthz is probed (~25 s)."""
    ctx = multiprocessing.get_context("spawn")
    ready, stop, out = ctx.Event(), ctx.Event(), ctx.Queue()
    child = ctx.Process(target=_drip, args=(d.port, connections, interval, ready, stop, out))
    child.start()
    latencies: list[float] = []
    failures = 0
    try:
        ready.wait(60)
        time.sleep(interval)  # every connection has sent its request line
        for _ in range(probes):
            got = _probe(d.port)
            if got is None:
                failures += 1
            else:
                latencies.append(got)
            time.sleep(0.02)
    finally:
        stop.set()
        stats = out.get(timeout=60)
        child.join(30)
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    report.slowloris = {
        "connections": stats["connections"], "reconnects": stats["reconnects"],
        "healthz_probes": probes, "healthz_failures": failures,
        "healthz_p50_ms": q[49] * 1000, "healthz_p99_ms": q[98] * 1000,
    }


# -- 4. planted secret ------------------------------------------------------------------


def surfaces(d: AttackDaemon) -> dict[str, bytes]:
    """Everything an operator or an attacker could read, by surface."""
    out: dict[str, bytes] = {}
    out["state files (journal)"] = b"".join(
        p.read_bytes() for p in sorted(d.state_dir.rglob("*")) if p.is_file())
    out["daemon log"] = d.log.read_bytes()
    listed = httpx.get(f"{d.url}/v1/incidents?limit=10000", headers=d.auth("alice"), timeout=10)
    out["/v1/incidents"] = listed.content + b"".join(
        httpx.get(f"{d.url}/v1/incidents/{i['id']}", headers=d.auth("alice"), timeout=10).content
        for i in listed.json().get("incidents", []))
    out["/metrics"] = httpx.get(f"{d.url}/metrics", timeout=10).content
    cli = [sys.executable, "-m", "aiops", "incidents", "--config", str(d.config)]
    out["aiops incidents"] = b"".join(
        subprocess.run(cli + extra, capture_output=True, timeout=120, check=False).stdout
        for extra in ([], ["--json"]))
    return out


def planted_secret(d: AttackDaemon, report: AttackReport, *, wait: float = 60.0) -> None:
    """Fire the secret-bearing runbook, wait for delivery, search every surface."""
    body = {"version": "4", "status": "firing", "receiver": "aiops", "alerts": [{
        "status": "firing", "labels": {"alertname": "SecretProbe", "probe": "1"},
        "annotations": {}, "startsAt": "2026-11-27T11:33:00Z", "fingerprint": "5ec7e7"}]}
    httpx.post(f"{d.url}/v1/alerts", json=body, headers=d.auth("alertmanager"), timeout=10)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and d.received().count(f"Bearer {d.secret}") < 2:
        time.sleep(0.2)
    report.secret_delivered = d.received().count(f"Bearer {d.secret}") >= 2
    time.sleep(1.0)  # outcomes journaled
    # the whole secret, and either half of it (a truncated or partly redacted copy)
    token = d.secret.removeprefix("planted-")
    needles = [d.secret.encode(), token[:12].encode(), token[-12:].encode()]
    report.secrets_found = {k: max(v.count(n) for n in needles) for k, v in surfaces(d).items()}


def drain(d: AttackDaemon, report: AttackReport, *, timeout: float = 600.0) -> None:
    """Wait until the daemon has handled every alert the webhook stored."""
    db = d.state_dir / "journal.sqlite"
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            total, open_ = conn.execute(
                "SELECT COUNT(*), SUM(handled_at IS NULL) FROM signals WHERE kind = 'alert'"
            ).fetchone()
        if not open_:
            break
        time.sleep(0.5)
    report.accepted_alerts = int(total or 0)
    report.backlog_seconds = time.monotonic() - t0


def run_attack(*, bodies: int = 10_000, slowloris_connections: int = 5000,
               body_bytes: int = GiB, workdir: Path | None = None) -> AttackReport:
    """Every attack against one fresh daemon."""
    report = AttackReport(body_bytes=body_bytes)
    _raise_fds(slowloris_connections + 1024)
    with tempfile.TemporaryDirectory(prefix="aiops-attack-") as tmp, \
            running(workdir or Path(tmp)) as d:
        slowloris(d, report, connections=slowloris_connections)
        big_bodies(d, report, total=body_bytes)
        fuzz(d, report, bodies=bodies)
        drain(d, report)
        planted_secret(d, report)
        report.crashed_cycles = d.crashed_cycles()
    return report

