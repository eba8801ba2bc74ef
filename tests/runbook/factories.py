"""Builders for signals, samples and runbook YAML shared by the runbook/engine tests."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

from aiops.model import Alert, Anomaly, Sample, Score, SeriesKey
from aiops.runbook import Runbook, parse_runbooks

ROOT = Path(__file__).resolve().parents[2]
SANDBOX_RUNBOOKS = ROOT / "runbooks" / "sandbox"


def key(metric: str, workload: str, namespace: str = "shop") -> SeriesKey:
    return SeriesKey.of(metric, namespace=namespace, workload=workload)


def anomaly(
    metric: str, workload: str, *, t: float, since: float | None = None, score: float = 0.97,
    value: float = 1.0, namespace: str = "shop",
) -> Anomaly:
    k = key(metric, workload, namespace)
    return Anomaly(
        score=Score(key=k, t=t, value=value, score=score, expected=value / 2, lower=0.0,
                    upper=value * 0.75, why=f"{metric} far above its band"),
        since=t if since is None else since,
    )


def sample(metric: str, workload: str, *, t: float, value: float,
           namespace: str = "shop") -> dict[SeriesKey, Sample]:
    k = key(metric, workload, namespace)
    return {k: Sample(key=k, t=t, value=value)}


def alert(name: str, *, status: str = "firing", fingerprint: str = "fp1",
          starts_at: str = "2026-11-27T11:33:00Z", t: float = 0.0, **labels: str) -> Alert:
    return Alert(
        fingerprint=fingerprint, status=status,  # type: ignore[arg-type]
        labels={"alertname": name, **labels}, annotations={}, starts_at=starts_at,
        ends_at="0001-01-01T00:00:00Z", t=t,
    )


def runbook(text: str, *, file: str = "test.yaml") -> Runbook:
    books = parse_runbooks(dedent(text), file=file)
    assert len(books) == 1
    return books[0]


LADDER = """
apiVersion: aiops/v1
kind: Runbook
metadata: {name: ladder}
spec:
  mode: auto
  triggers:
    - anomaly: {metric: latency_p99, score_above: 0.9}
  target:
    kind: SandboxWorkload
    namespace: '{{ labels.namespace }}'
    name: '{{ labels.workload }}'
  guards: {cooldown: 10m}
  steps:
    - action: scale
      with: {delta: "+2", max: 8}
      verify: {metric: latency_p99, below: 0.5, within: 3m, on_no_data: fail}
    - action: restart
      verify: {metric: latency_p99, below: 0.5, within: 3m}
    - action: rollback
"""
