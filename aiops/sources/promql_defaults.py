"""Built-in PromQL for the four metrics aiops watches, one instant query each.

The Kubernetes defaults read cAdvisor and the usual HTTP instrumentation
(``http_requests_total``, ``http_request_duration_seconds_bucket``), aggregate per pod
and derive ``workload`` from the pod name (``web-5d9c7b6f4-x2x7q`` -> ``web`` for a
Deployment, ``db-0`` -> ``db`` for a StatefulSet). The sandbox queries read the gauges
``aiops sandbox-exporter`` serves.

>>> [q.name for q in kubernetes_queries()]
['cpu_usage', 'memory_usage', 'latency_p99', 'request_rate']
>>> sandbox_queries()[0].query
'aiops_sandbox_cpu_usage'
"""

from __future__ import annotations

from aiops.config.sources import PrometheusQuery, RemoteWriteMetric
from aiops.sim.workloads import METRICS

WINDOW = "2m"
KEEP = ["namespace", "workload", "pod"]


def with_workload(expr: str) -> str:
    """Add a ``workload`` label derived from ``pod`` (StatefulSet, then Deployment names).

    >>> with_workload("x")[:14]
    'label_replace('
    """
    sts = f'label_replace({expr}, "workload", "$1", "pod", "(.+)-[0-9]+")'
    return f'label_replace({sts}, "workload", "$1", "pod", "(.+)-[a-z0-9]{{5,10}}-[a-z0-9]{{5}}")'


def kubernetes_queries(window: str = WINDOW) -> list[PrometheusQuery]:
    """cAdvisor CPU and working-set memory, p99 latency and request rate per pod."""
    containers = 'container!="", container!="POD"'
    return [
        PrometheusQuery(
            name="cpu_usage",
            query=with_workload(
                f"sum by (namespace, pod) "
                f"(rate(container_cpu_usage_seconds_total{{{containers}}}[{window}]))"
            ),
            keep_labels=KEEP,
        ),
        PrometheusQuery(
            name="memory_usage",
            query=with_workload(
                f"sum by (namespace, pod) (container_memory_working_set_bytes{{{containers}}})"
            ),
            keep_labels=KEEP,
        ),
        PrometheusQuery(
            name="latency_p99",
            query=with_workload(
                "histogram_quantile(0.99, sum by (namespace, pod, le) "
                f"(rate(http_request_duration_seconds_bucket[{window}])))"
            ),
            keep_labels=KEEP,
        ),
        PrometheusQuery(
            name="request_rate",
            query=with_workload(f"sum by (namespace, pod) (rate(http_requests_total[{window}]))"),
            keep_labels=KEEP,
        ),
    ]


SANDBOX_METRICS = METRICS  # what the sandbox exporter serves, one query each


def sandbox_queries(prefix: str = "aiops_sandbox_") -> list[PrometheusQuery]:
    """Queries for the gauges served by ``aiops sandbox-exporter`` (namespace, workload)."""
    return [
        PrometheusQuery(name=m, query=f"{prefix}{m}", keep_labels=["namespace", "workload"])
        for m in SANDBOX_METRICS
    ]


#: Prefix of the recording rules whose output Prometheus remote-writes to aiops.
RECORDED = "aiops:"


def recording_rules(window: str = WINDOW) -> list[dict[str, str]]:
    """The four Kubernetes metrics as Prometheus recording rules (``aiops:<metric>``).

    With ``source.type: remote_write`` Prometheus evaluates these and pushes the results,
    so aiops receives one series per pod and metric, already a rate or a quantile.

    >>> recording_rules()[0]["record"]
    'aiops:cpu_usage'
    """
    return [{"record": f"{RECORDED}{q.name}", "expr": q.query} for q in kubernetes_queries(window)]


def remote_write_metrics(preset: str = "kubernetes") -> list[RemoteWriteMetric]:
    """What ``source.remote_write`` scores when no metrics are configured.

    >>> [(m.name, m.match) for m in remote_write_metrics("sandbox")][:1]
    [('cpu_usage', 'aiops_sandbox_cpu_usage')]
    """
    if preset == "sandbox":
        return [RemoteWriteMetric(name=q.name, match=q.query, keep_labels=q.keep_labels)
                for q in sandbox_queries()]
    return [RemoteWriteMetric(name=q.name, match=f"{RECORDED}{q.name}", keep_labels=KEEP)
            for q in kubernetes_queries()]
