"""Configuration of metric sources: the sandbox, Prometheus, CSV replay, the host."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from aiops.config.base import Section
from aiops.config.durations import Duration


class SandboxConfig(Section):
    """The built-in simulated cluster (the embedded default)."""

    trace: str = Field(
        "builtin:nyc_taxi",
        description="Demand trace: 'builtin:nyc_taxi' or a path to a timestamp,value CSV.",
    )
    seed: int = Field(7, description="Seed for the simulator's noise; same seed, same run.")
    start: str = Field(
        "2014-07-07T08:00:00",
        description="Trace time (ISO 8601, UTC) shown when the world is created; the trace "
        "then advances with simulated time. The default is a Monday morning near median demand.",
    )
    faults: bool = Field(True, description="Inject the scheduled faults.")
    fault_schedule: Literal["default", "none"] = Field(
        "default", description="Which fault schedule to run ('none' for a fault-free run)."
    )
    persist: bool = Field(
        True, description="Keep the simulated cluster's state in state_dir so it survives restarts."
    )
    step: Duration = Field(
        5.0, gt=0, description="Fixed integration sub-step of the simulated cluster."
    )
    startup_min: Duration = Field(60.0, description="Shortest start-up delay of a new pod.")
    startup_max: Duration = Field(90.0, description="Longest start-up delay of a new pod.")


class PrometheusQuery(Section):
    """One metric pulled by an instant PromQL query per cycle."""

    name: str = Field(description="Metric name used in runbooks (e.g. latency_p99).")
    query: str = Field(description="PromQL returning one series per workload or pod.")
    keep_labels: list[str] = Field(
        default_factory=lambda: ["namespace", "workload", "deployment", "pod"],
        description="Labels kept in the series key; others are dropped.",
    )


class PrometheusConfig(Section):
    """A Prometheus server queried with prometheus-api-client."""

    url: str = Field("http://127.0.0.1:9090", description="Base URL of the Prometheus API.")
    timeout: Duration = Field(5.0, description="Per-request timeout.")
    retries: int = Field(1, ge=0, le=10, description="Retries per query before the cycle gives up.")
    retry_backoff: Duration = Field(
        0.2, description="Pause before a retry (doubles each time); a pull never outlasts "
        "timeout x (retries + 1) plus these pauses."
    )
    step: Duration = Field(15.0, description="Resolution of the start-up backfill (query_range).")
    bearer_token_file: str | None = Field(None, description="File holding a bearer token.")
    basic_auth_user: str | None = Field(None, description="Basic-auth user name.")
    basic_auth_password_file: str | None = Field(None, description="File holding the password.")
    ca_file: str | None = Field(None, description="CA bundle to verify TLS.")
    stale_after: Duration = Field(
        120.0, description="A series unseen for this long is stale: no action on it."
    )
    queries: list[PrometheusQuery] = Field(
        default_factory=list, description="Metrics to pull; empty means the preset's queries."
    )
    preset: Literal["kubernetes", "sandbox"] = Field(
        "kubernetes",
        description="Built-in queries used when `queries` is empty: cAdvisor + HTTP metrics, "
        "or the gauges of `aiops sandbox-exporter`.",
    )


class RemoteWriteMetric(Section):
    """One metric received by remote_write: which series name it is, which labels to keep."""

    name: str = Field(description="Metric name used in runbooks (e.g. latency_p99).")
    match: str = Field(
        description="The __name__ Prometheus sends (a recording rule such as "
        "aiops:latency_p99, or a raw gauge)."
    )
    keep_labels: list[str] = Field(
        default_factory=lambda: ["namespace", "workload", "pod"],
        description="Labels kept in the series key; others are dropped.",
    )


class RemoteWriteConfig(Section):
    """Prometheus pushes samples (remote-write 1.0) to POST /api/v1/write."""

    preset: Literal["kubernetes", "sandbox"] = Field(
        "kubernetes",
        description="Built-in metrics when `metrics` is empty: the aiops:* recording rules "
        "(deploy/prometheus/aiops-recording-rules.yaml), or the gauges of "
        "`aiops sandbox-exporter`.",
    )
    metrics: list[RemoteWriteMetric] = Field(
        default_factory=list, description="Metrics to score; empty means the preset's. "
        "Other series are counted as ignored (drop them in write_relabel_configs)."
    )
    max_body_bytes: int = Field(
        8_388_608, ge=1024, description="Largest compressed request body (413)."
    )
    max_decoded_bytes: int = Field(
        67_108_864, ge=4096, description="Largest body once snappy-decompressed (413)."
    )
    max_pending_samples: int = Field(
        1_000_000, ge=1000,
        description="Samples received but not yet scored; past this, requests get 503 with "
        "Retry-After and Prometheus retries them (backpressure).",
    )
    max_series: int = Field(
        2_000_000, ge=1,
        description="Distinct series kept; samples of further new series are counted "
        "(series_limit) and not scored.",
    )
    flush_interval: Duration = Field(
        0.2, gt=0, le=10,
        description="Longest a received sample waits to be scored (its request is answered "
        "once it is scored, so this bounds the latency added).",
    )
    flush_samples: int | None = Field(
        None, ge=1,
        description="Score at once when this many samples wait (default: as many as the "
        "series still arriving, at least 2000): one scoring step costs about the same for 10 or "
        "100,000 samples (it steps every series), so samples are scored in batches of "
        "this size or after flush_interval, whichever comes first.",
    )
    stale_after: Duration = Field(
        120.0,
        description="A series silent this long becomes a gap; no request this long marks the "
        "source down; samples older than this are learned but never signal.",
    )
    backfill: bool = Field(
        True, description="Warm detectors at start-up from source.prometheus (query_range)."
    )


class ReplayConfig(Section):
    """Replay a CSV of metric history (timestamp,metric,labels...,value)."""

    path: str = Field(description="CSV file to replay.")


class SourceConfig(Section):
    """Where metrics come from."""

    type: Literal["sandbox", "prometheus", "remote_write", "replay", "host"] = Field(
        "sandbox", description="Which source to use."
    )
    sandbox: SandboxConfig = Field(default_factory=SandboxConfig)
    prometheus: PrometheusConfig = Field(default_factory=PrometheusConfig)
    remote_write: RemoteWriteConfig = Field(default_factory=RemoteWriteConfig)
    replay: ReplayConfig | None = None
