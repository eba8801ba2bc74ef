"""``aiops runbook lint``: schema errors plus semantic checks, each at file:line:column.

Semantic checks (warnings unless noted): steps no path can reach, verify/trigger
metrics no source emits, target templates naming labels the trigger does not
guarantee, scale steps with no ceiling, approve mode with nobody allowed to approve
(fine), a ``when`` that names an unknown variable, a notify header holding a literal
credential (use a secret reference), or a target namespace taken from alert labels with
no ``guards.allow_namespaces``. Pure: the caller reads the files.

>>> text = '''
... apiVersion: aiops/v1
... kind: Runbook
... metadata: {name: x}
... spec:
...   triggers: [{anomaly: {metric: latency_p99}}]
...   target: {kind: Deployment, namespace: shop, name: '{{ labels.service }}'}
...   steps:
...     - action: restart
...       verify: {metric: latency_p99, below: 1}
...       on: {failure: stop, inconclusive: escalate}
...     - action: rollback
... '''
>>> for f in lint_text(text, file="x.yaml", metrics={"latency_p99"}):
...     print(f.line, f.column, f.field, f.severity, f.message[:40])
7 3 spec.target warning template reads labels.service, which ano
12 7 spec.steps[1] warning unreachable: step 0 never continues (ver
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from aiops.config.yamlsource import Located, PathPart, dotted, parse_yaml_documents
from aiops.errors import ConfigError, ConfigErrors
from aiops.runbook.schema import MUTATING, NotifyStep, Runbook, ScaleStep, Trigger
from aiops.runbook.secrets import looks_like_credential
from aiops.runbook.templating import referenced_names

#: Labels a metric series may carry from the built-in sources.
SERIES_LABELS = frozenset(
    {"namespace", "workload", "deployment", "statefulset", "pod", "unit", "instance", "job",
     "metric"}
)
#: Variables visible to ``when`` expressions.
WHEN_NAMES = frozenset(
    {"labels", "kind", "t", "metric", "score", "value", "expected", "since", "why", "alertname",
     "annotations", "status", "predicted", "capacity", "desired_replicas", "current_replicas",
     "requested_by", "state"}
)


@dataclass(frozen=True, kw_only=True, slots=True)
class Finding:
    """One lint result, located."""

    file: str
    line: int | None
    column: int | None
    field: str
    message: str
    severity: Literal["error", "warning"] = "warning"

    def __str__(self) -> str:
        where = self.file + "".join(f":{p}" for p in (self.line, self.column) if p is not None)
        return f"{where}: {self.field}: {self.severity}: {self.message}"


def _trigger_labels(trig: Trigger) -> frozenset[str] | None:
    """Labels a trigger's signals are sure to carry (``None``: unknown, do not check)."""
    if trig.anomaly is not None:
        return SERIES_LABELS | frozenset(trig.anomaly.labels)
    if trig.forecast is not None:
        return SERIES_LABELS | frozenset(trig.forecast.labels)
    if trig.alert is not None:
        return frozenset({"alertname"}) | frozenset(trig.alert.matchers)
    if trig.schedule is not None:
        return frozenset(trig.schedule.labels)
    return None


def lint_runbook(
    rb: Runbook, doc: Located, *, metrics: Iterable[str] | None = None
) -> list[Finding]:
    """Semantic checks of one valid runbook; ``metrics`` is the known metric names."""
    out: list[Finding] = []

    def add(path: tuple[PathPart, ...], message: str, severity: str = "warning") -> None:
        line, col = doc.where(path)
        out.append(Finding(file=doc.file, line=line, column=col, field=dotted(path),
                           message=message, severity=severity))  # type: ignore[arg-type]

    spec = rb.spec
    known = set(metrics) if metrics is not None else None
    for i, trig in enumerate(spec.triggers):
        metric = trig.anomaly.metric if trig.anomaly else trig.forecast.metric if trig.forecast \
            else None
        if known is not None and metric is not None and metric not in known:
            add(("spec", "triggers", i, trig.kind, "metric"),
                f"unknown metric {metric!r} (known: {', '.join(sorted(known))})")
    # target templates must only read labels every trigger guarantees
    used = {n.split(".", 1)[1] for text in (spec.target.namespace, spec.target.name)
            for n in referenced_names(text) if n.startswith("labels.")}
    for trig in spec.triggers:
        have = _trigger_labels(trig)
        if have is None:
            continue
        for label in sorted(used - have):
            add(("spec", "target"),
                f"template reads labels.{label}, which {trig.kind} triggers do not guarantee"
                f" (they carry: {', '.join(sorted(have))})")
    from_labels = any(n.startswith("labels.") for n in referenced_names(spec.target.namespace))
    if from_labels and any(t.alert is not None for t in spec.triggers) and \
            not spec.guards.allow_namespaces:
        add(("spec", "target", "namespace"),
            "the namespace comes from alert labels, which whoever sends the alert chooses: "
            "set guards.allow_namespaces")
    if spec.when is not None:
        names = {n.split(".", 1)[0] for n in referenced_names(spec.when)}
        for name in sorted(names - WHEN_NAMES):
            add(("spec", "when"), f"unknown variable {name!r}", "error")
    for i, step in enumerate(spec.steps):
        if step.verify is not None and known is not None and step.verify.metric not in known:
            add(("spec", "steps", i, "verify", "metric"),
                f"unknown metric {step.verify.metric!r}")
        if isinstance(step, NotifyStep):
            for name, value in step.with_.headers.items():
                if looks_like_credential(name, value):
                    add(("spec", "steps", i, "with", "headers", name),
                        f"header {name} holds a literal credential: it would be copied into "
                        "plans and the journal; use {secret_file: /abs/path} or {env: VAR}")
        if isinstance(step, ScaleStep) and step.with_.max is None and \
                spec.guards.max_replicas is None:
            add(("spec", "steps", i, "with"), "scale has no max and guards.max_replicas is unset")
        if i + 1 < len(spec.steps) and step.verify is not None and \
                step.on.failure != "next" and step.on.inconclusive != "next":
            add(("spec", "steps", i + 1),
                f"unreachable: step {i} never continues (verify on failure {step.on.failure!r},"
                f" on inconclusive {step.on.inconclusive!r})")
    if spec.mode == "auto" and not any(s.action in MUTATING for s in spec.steps):
        pass  # notify/command-only runbooks are fine in auto mode
    return out


def lint_text(text: str, *, file: str, metrics: Iterable[str] | None = None) -> list[Finding]:
    """Schema errors (as findings) and semantic findings for every runbook in ``text``."""
    known = list(metrics) if metrics is not None else None
    try:
        docs = list(parse_yaml_documents(text, file=file))
    except ConfigError as exc:
        return [_from_error(exc)]
    from aiops.runbook.loader import validate_runbook  # local: loader imports schema too

    out: list[Finding] = []
    for doc in docs:
        try:
            rb = validate_runbook(doc)
        except ConfigErrors as exc:
            out += [_from_error(e) for e in exc.errors]
            continue
        except ConfigError as exc:
            out.append(_from_error(exc))
            continue
        out += lint_runbook(rb, doc, metrics=known)
    return out


def _from_error(e: ConfigError) -> Finding:
    return Finding(file=e.file or "?", line=e.line, column=e.column, field=e.field or "",
                   message=e.message, severity="error")
