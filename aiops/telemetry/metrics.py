"""Our own Prometheus metrics, on an explicit registry (never the global one).

One :class:`Metrics` instance per daemon; engines receive it and record what they do.
Names are prefixed ``aiops_``; every label set is bounded (runbook, action, outcome,
reason, source) except the per-series score gauges, which follow the monitored series.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

#: Outcome labels of ``aiops_actions_total`` (OutcomeStatus values, plus reconciliation).
OUTCOMES = ("done", "failed", "temporary", "dry-run", "already-done", "unknown", "reconciled")
#: Decision labels of ``aiops_decisions_total`` and the reason codes primed for skips.
SKIP_REASONS = ("when-false", "when-error", "template-error", "runbook-error", "cooldown",
                "max-runs", "concurrency", "budget", "blocked-by-alert",
                "maintenance-window", "namespace-denied", "namespace-not-allowed",
                "rollout-in-progress")
MODE_DECISIONS = {"auto": ("run", "mode-auto"), "dry-run": ("dry-run", "mode-dry-run"),
                  "approve": ("await-approval", "mode-approve")}
WEBHOOK_RESULTS = ("new", "duplicate", "invalid", "unauthorized", "too_large",
                   "journal_error", "disconnected")
JOBS = ("poll", "remediate", "elect")


@dataclass(frozen=True, kw_only=True, slots=True)
class RunbookLabels:
    """What a loaded runbook can put on our metrics: its name, mode and step kinds."""

    name: str
    mode: str
    actions: tuple[str, ...]


class Metrics:
    """Every metric the daemon exports, registered on ``registry``."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.cycle_seconds = Histogram(
            "aiops_cycle_duration_seconds",
            "Wall time of one poll+detect+plan cycle.",
            ["stage"],
            registry=r,
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.cycles = Counter("aiops_cycles_total", "Poll cycles run.", ["result"], registry=r)
        self.series = Gauge("aiops_series", "Series seen in the last cycle.", registry=r)
        self.samples_skipped = Counter(
            "aiops_samples_skipped_total", "Samples skipped (NaN, inf, stale).", registry=r
        )
        self.source_up = Gauge(
            "aiops_source_up", "1 if the last pull from the source succeeded.", ["source"],
            registry=r,
        )
        self.source_errors = Counter(
            "aiops_source_errors_total", "Failed pulls by source and error.", ["source", "error"],
            registry=r,
        )
        self.score = Gauge(
            "aiops_anomaly_score", "Latest anomaly score per series (0..1).",
            ["metric", "namespace", "workload"], registry=r,
        )
        self.expected = Gauge(
            "aiops_expected_value", "Detector's expected value per series.",
            ["metric", "namespace", "workload"], registry=r,
        )
        self.band = Gauge(
            "aiops_expected_band", "Detector's expected band per series (lower/upper).",
            ["metric", "namespace", "workload", "bound"], registry=r,
        )
        self.value = Gauge(
            "aiops_observed_value", "Latest observed value per series.",
            ["metric", "namespace", "workload"], registry=r,
        )
        self.signals = Counter(
            "aiops_signals_total", "Signals received by kind.", ["kind"], registry=r
        )
        self.decisions = Counter(
            "aiops_decisions_total", "Runbook decisions by runbook, decision and reason.",
            ["runbook", "decision", "reason"], registry=r,
        )
        self.actions = Counter(
            "aiops_actions_total", "Actions by runbook, action and outcome.",
            ["runbook", "action", "outcome"], registry=r,
        )
        self.incidents_open = Gauge(
            "aiops_incidents_open", "Incidents currently being remediated.", registry=r
        )
        self.needs_attention = Gauge(
            "aiops_incidents_needing_attention",
            "Incidents stopped because an action's outcome is unknown: a person must decide.",
            registry=r,
        )
        self.closed = Counter(
            "aiops_incidents_closed_total", "Incidents closed, by runbook, status and reason code.",
            ["runbook", "status", "reason"], registry=r,
        )
        # Labelled "loop", not "job": Prometheus' own target label would rename it.
        self.crashed = Counter(
            "aiops_cycles_crashed_total",
            "Loop iterations that raised instead of finishing, by loop.", ["loop"], registry=r,
        )
        self.journal_errors = Counter(
            "aiops_journal_write_errors_total", "Journal transactions that failed.", registry=r
        )
        self.forecast = Gauge(
            "aiops_forecast_value", "Forecast demand at the provisioning horizon.",
            ["namespace", "workload", "quantity"], registry=r,
        )
        self.webhook_alerts = Counter(
            "aiops_webhook_alerts_total", "Alerts received by webhook, by result.", ["result"],
            registry=r,
        )
        self.leader = Gauge(
            "aiops_leader", "1 while this replica holds the leadership Lease (or runs alone).",
            registry=r,
        )
        self.leader.set(1)
        self.last_cycle = Gauge(
            "aiops_last_cycle_timestamp_seconds", "Unix time the last cycle finished.", registry=r
        )

    def prime(self, *, runbooks: Sequence[RunbookLabels], source: str) -> None:
        """Create at 0 every label set the shipped alert rules and dashboard read.

        A counter that first appears at 1 is invisible to ``increase()``: without this,
        ``AiopsActionsFailing`` would miss a new runbook's first failed action.
        """
        for rb in runbooks:
            for action in rb.actions:
                for outcome in OUTCOMES:
                    self.actions.labels(rb.name, action, outcome)
            decision, code = MODE_DECISIONS.get(rb.mode, ("run", "mode-auto"))
            self.decisions.labels(rb.name, decision, code)
            for reason in SKIP_REASONS:
                self.decisions.labels(rb.name, "skip", reason)
            for status, reason in (("resolved", "verified"), ("exhausted", "exhausted"),
                                   ("resolved", "alert-resolved"),
                                   ("stopped", "stopped-by-runbook")):
                self.closed.labels(rb.name, status, reason)
        self.source_up.labels(source)
        self.source_errors.labels(source, "SourceUnavailable")
        for result in WEBHOOK_RESULTS:
            self.webhook_alerts.labels(result)
        for result in ("ok", "source_error"):
            self.cycles.labels(result)
        for job in JOBS:
            self.crashed.labels(job)
