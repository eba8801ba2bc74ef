"""What the chaos benchmark feeds the daemon: Alertmanager v4 bodies, and a sender that
retries each one until it is acknowledged, as Alertmanager does.

The bodies are built from one real Alertmanager webhook delivery (``template``): every
alert keeps its shape and labels, with its own ``deployment``/``pod`` (so each alert is
its own target) and a fingerprint derived from its labels. A body is acknowledged only by
a 2xx; a refused connection, a timeout or a 5xx (the daemon was killed, or its journal
cannot write) is retried after a short pause, forever, like Alertmanager's retries.
"""

from __future__ import annotations

import copy
import hashlib
import json
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

#: The shape of a real delivery (Alertmanager 0.25, captured on loopback); used when no
#: template file is given.
TEMPLATE: dict[str, Any] = {
    "receiver": "webhook", "status": "firing", "version": "4",
    "groupKey": '{}:{alertname="PodCpuHigh"}', "truncatedAlerts": 0,
    "externalURL": "http://127.0.0.1:9093",
    "groupLabels": {"alertname": "PodCpuHigh"},
    "commonLabels": {"alertname": "PodCpuHigh", "severity": "warning"},
    "commonAnnotations": {},
    "alerts": [{
        "status": "firing",
        "labels": {"alertname": "PodCpuHigh", "deployment": "probe", "instance":
                   "127.0.0.1:33861", "job": "workload", "namespace": "alerting",
                   "pod": "probe-0", "severity": "warning"},
        "annotations": {"summary": "Pod alerting/probe-0 uses 2 cores"},
        "startsAt": "2026-11-27T11:33:00.002Z", "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://127.0.0.1:9090/graph?g0.expr=aiops_pod_cpu_usage_cores",
        "fingerprint": "84280e2050557c51",
    }],
}


def load_template(path: Path | None) -> dict[str, Any]:
    """A webhook body to copy alerts from: ``path`` (a real delivery) or :data:`TEMPLATE`."""
    if path is None:
        return copy.deepcopy(TEMPLATE)
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if data.get("version") != "4" or not data.get("alerts"):
        raise ValueError(f"{path}: not an Alertmanager v4 webhook body with alerts")
    return data


@dataclass(frozen=True, kw_only=True, slots=True)
class Body:
    """One webhook delivery: its bytes and the dedup keys of the alerts it carries."""

    data: bytes
    keys: tuple[str, ...]
    targets: tuple[str, ...]


def bodies(template: dict[str, Any], *, alerts: int, alertnames: Sequence[str],
           target: Callable[[int], tuple[str, str]], rng: random.Random,
           max_per_body: int = 2) -> list[Body]:
    """``alerts`` distinct firing alerts named in turn from ``alertnames``, alert ``j`` about
    the Deployment ``target(j)`` (namespace, name), grouped in bodies of 1..``max_per_body``."""
    proto = template["alerts"][0]
    out: list[Body] = []
    i = 0
    while i < alerts:
        n = min(rng.randint(1, max_per_body), alerts - i)
        group = []
        for j in range(i, i + n):
            namespace, name = target(j)
            labels = {**proto["labels"], "alertname": alertnames[j % len(alertnames)],
                      "namespace": namespace, "deployment": name, "pod": f"{name}-0"}
            digest = hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()
            group.append({**copy.deepcopy(proto), "labels": labels, "status": "firing",
                          "fingerprint": digest[:16],
                          "annotations": {"summary": f"Pod {namespace}/{name}-0 is hot"}})
        common = {k: v for k, v in group[0]["labels"].items()
                  if all(a["labels"].get(k) == v for a in group)}
        body = {**copy.deepcopy(template), "status": "firing", "alerts": group,
                "commonLabels": common, "groupLabels": {"alertname": group[0]["labels"][
                    "alertname"]},
                "truncatedAlerts": 0}
        out.append(Body(
            data=json.dumps(body).encode(),
            keys=tuple(f"alert:{a['fingerprint']}:{a['startsAt']}:firing" for a in group),
            targets=tuple(f"{a['labels']['namespace']}/{a['labels']['deployment']}"
                          for a in group)))
        i += n
    return out


@dataclass
class Sender:
    """Delivers released bodies in order to ``url``, retrying each until a 2xx."""

    url: str
    token: str | None = None
    pause: float = 0.05
    acked: list[Body] = field(default_factory=list)
    attempts: int = 0
    refused: int = 0
    _queue: deque[Body] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def release(self, items: Sequence[Body]) -> None:
        with self._lock:
            self._queue.extend(items)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def start(self) -> Sender:
        self._thread = threading.Thread(target=self._run, name="chaos-sender", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        with httpx.Client(timeout=3.0) as client:
            while not self._stop.is_set():
                with self._lock:
                    item = self._queue[0] if self._queue else None
                if item is None:
                    time.sleep(0.02)
                    continue
                self.attempts += 1
                try:
                    ok = client.post(self.url, content=item.data, headers=headers).is_success
                except httpx.HTTPError:
                    ok = False
                if ok:
                    with self._lock:
                        self._queue.popleft()
                    self.acked.append(item)
                else:
                    self.refused += 1
                time.sleep(self.pause)
