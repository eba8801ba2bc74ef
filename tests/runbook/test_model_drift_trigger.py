"""The ``model_drift`` trigger: a drifted series' signal matches by metric, labels and index."""

from __future__ import annotations

from aiops.model import ModelDrift, SeriesKey
from aiops.runbook.match import Match, explain_match, signal_context
from tests.runbook.factories import anomaly, runbook

DRIFT = """
apiVersion: aiops/v1
kind: Runbook
metadata: {name: drift}
spec:
  mode: dry-run
  triggers:
    - model_drift: {metric: latency_p99, labels: {namespace: shop}, psi_above: 0.3}
  target:
    kind: SandboxWorkload
    namespace: '{{ labels.namespace }}'
    name: '{{ labels.workload }}'
  steps:
    - action: notify
      with: {url: "http://127.0.0.1:9/x", body: {text: "{{ why }} ({{ psi }})"}}
"""


def drift(metric: str = "latency_p99", psi: float = 0.5, namespace: str = "shop") -> ModelDrift:
    key = SeriesKey.of(metric, namespace=namespace, workload="checkout")
    return ModelDrift(key=key, t=100.0, since=100.0, psi=psi, threshold=0.25,
                      model="detector-abc", reference=(0.0, 50.0), why=f"{key} drifted")


def test_a_drift_of_the_metric_matches_and_targets_its_workload() -> None:
    """The matched reason names the index and the model; the target comes from the labels."""
    m = explain_match(runbook(DRIFT), drift(), 100.0)
    assert isinstance(m, Match)
    assert str(m.target) == "SandboxWorkload/shop/checkout"
    assert "PSI 0.50" in m.reasons[0].message and "detector-abc" in m.reasons[0].message
    assert signal_context(drift())["psi"] == 0.5


def test_other_metrics_labels_small_drifts_and_other_signals_do_not_match() -> None:
    """Each condition of the trigger is checked, and says why not."""
    rb = runbook(DRIFT)
    assert "metric cpu is not latency_p99" in str(explain_match(rb, drift("cpu"), 100.0))
    assert "not above 0.30" in str(explain_match(rb, drift(psi=0.28), 100.0))
    assert "label namespace" in str(explain_match(rb, drift(namespace="ops"), 100.0))
    assert "not a model-drift signal" in str(
        explain_match(rb, anomaly("latency_p99", "checkout", t=100.0), 100.0))
    key = 'latency_p99{namespace="shop",workload="checkout"}'
    assert drift().dedup_key == f"model-drift:{key}:100.0"
