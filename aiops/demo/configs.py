"""The demo's generated configurations, with every duration on one clock. Pure.

At speed ``k`` one simulated second is ``1/k`` wall seconds, and Prometheus and
Alertmanager count wall time: so every duration they are given is the simulated duration
divided by the speed. Prometheus scrapes and evaluates once per daemon interval (15
simulated seconds: 250 ms at 60x), a rule's ``for: 2m`` becomes ``2000ms``, Alertmanager's
grouping and repeat intervals likewise. The daemon follows the world server's clock, so
its runbooks' ``for:`` are simulated already.

>>> prom_duration(120, 60.0)
'2000ms'
>>> [r["for"] for r in alert_rules(60.0)[0]["rules"]]
['1000ms', '2000ms', '1000ms']
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

#: Simulated durations of the generated alert rules (``for:``).
RULES: tuple[tuple[str, str, float, str], ...] = (
    ("SandboxErrorRateHigh", "aiops_sandbox_error_rate > 0.05", 60.0,
     "{{ $labels.workload }} fails {{ $value | humanizePercentage }} of requests"),
    ("SandboxMemoryHigh", "aiops_sandbox_memory_usage > 400 * 1024 * 1024", 120.0,
     "{{ $labels.workload }} uses {{ $value | humanize1024 }}B per pod"),
    ("SandboxLatencyHigh", "aiops_sandbox_latency_p99 > 1", 60.0,
     "{{ $labels.workload }} p99 is {{ $value | humanizeDuration }}"),
)


def prom_duration(simulated: float, speed: float) -> str:
    """A Prometheus/Alertmanager duration for ``simulated`` seconds at ``speed`` (>= 1 ms)."""
    return f"{max(1, round(simulated * 1000.0 / speed))}ms"


def alert_rules(speed: float) -> list[dict[str, Any]]:
    """The rule group Prometheus evaluates, ``for:`` scaled to wall time."""
    return [{
        "name": "aiops-demo",
        "rules": [{"alert": name, "expr": expr, "for": prom_duration(hold, speed),
                   "labels": {"severity": "page"}, "annotations": {"summary": summary}}
                  for name, expr, hold, summary in RULES],
    }]


def daemon_config(base: dict[str, Any], *, base_dir: Path, state_dir: Path,
                  prometheus_url: str, world_url: str, port: int,
                  extra_runbooks: list[Path]) -> dict[str, Any]:
    """The embedded default (``base``) on the real loop: Prometheus in, the world out.

    Paths of ``base`` are made absolute (against ``base_dir``, the default config's
    directory); forecasting is off (Prometheus holds nothing from before the demo, and the
    forecaster learns from the week before); the start-up backfill likewise.
    """
    data = copy.deepcopy(base)
    data["state_dir"] = str(state_dir)
    data["source"] = {"type": "prometheus", "prometheus": {
        "url": prometheus_url, "preset": "sandbox", "timeout": "2s", "retries": 1}}
    data["actuator"] = {"type": "world", "world": {"url": world_url}}
    loop = dict(data.get("loop") or {})
    loop["backfill"] = "0s"
    data["loop"] = loop
    paths = (data.get("runbooks") or {}).get("paths") or ["runbooks"]
    data["runbooks"] = {"paths": [str((base_dir / p).resolve()) for p in paths]
                        + [str(p) for p in extra_runbooks]}
    data.pop("forecast", None)
    data["http"] = {"listen": "127.0.0.1", "port": port}
    return data
