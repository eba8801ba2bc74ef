"""Property tests: random YAML at the loader, random signal streams at the planner."""

from __future__ import annotations

import math
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiops.errors import ConfigError, ConfigErrors
from aiops.model import Decision, Reason, ReasonCode, Target, TargetState
from aiops.runbook import GuardFacts, load_runbooks, match, parse_runbooks, plan
from tests.runbook.factories import LADDER, SANDBOX_RUNBOOKS, anomaly, runbook

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
BASE: dict[str, Any] = yaml.safe_load(LADDER)

scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 50), st.floats(allow_nan=False),
                    st.text(max_size=12), st.sampled_from(["scale", "restart", "5m", "+2", "{{"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8)
PATHS = [("spec",), ("spec", "mode"), ("spec", "triggers"), ("spec", "target"),
         ("spec", "target", "name"), ("spec", "guards"), ("spec", "guards", "cooldown"),
         ("spec", "steps"), ("spec", "steps", 0), ("spec", "steps", 0, "with"),
         ("spec", "steps", 0, "verify"), ("spec", "steps", 1, "action"), ("metadata", "name"),
         ("spec", "when"), ("spec", "steps", 0, "on"), ("kind",), ("apiVersion",)]


def _mutate(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(doc, dict):
        return {**doc, head: _mutate(doc.get(head), rest, value)}
    if isinstance(doc, list) and isinstance(head, int) and head < len(doc):
        return [*doc[:head], _mutate(doc[head], rest, value), *doc[head + 1:]]
    return doc


def _check_rejection(exc: ConfigError | ConfigErrors) -> None:
    errors = exc.errors if isinstance(exc, ConfigErrors) else [exc]
    assert errors
    for e in errors:
        assert e.file == "fuzz.yaml"
        assert e.field or e.message.startswith(("invalid YAML", "expected a mapping", "file"))
        assert e.line is None or e.line >= 1


@SETTINGS
@given(path=st.sampled_from(PATHS), value=values, extra=st.booleans())
def test_mutated_runbooks_load_or_name_the_field(path: tuple[Any, ...], value: Any,
                                                 extra: bool) -> None:
    """Any mutation of a valid runbook either loads or is rejected naming file and field."""
    doc = _mutate(BASE, path, value)
    if extra:
        doc = _mutate(doc, ("spec", "surprise"), value)
    text = yaml.safe_dump(doc, sort_keys=False)
    try:
        parse_runbooks(text, file="fuzz.yaml")
    except (ConfigError, ConfigErrors) as exc:
        _check_rejection(exc)


@SETTINGS
@given(text=st.text(max_size=200))
def test_random_text_never_crashes_the_loader(text: str) -> None:
    """Arbitrary text is parsed or rejected with a located ConfigError, never a crash."""
    try:
        parse_runbooks(text, file="fuzz.yaml")
    except (ConfigError, ConfigErrors) as exc:
        _check_rejection(exc)


signal_st = st.builds(
    lambda metric, workload, score, value, expected, age, ns: (
        anomaly(metric, workload, t=1000.0, since=1000.0 - age, score=score, value=value,
                namespace=ns), expected),
    metric=st.sampled_from(["latency_p99", "memory_usage", "request_rate", "error_rate",
                            "ready_replicas", "cpu_usage"]),
    workload=st.sampled_from(["cart", "checkout", "frontend", "payments", "x"]),
    score=st.floats(0, 1),
    value=st.floats(-1e12, 1e12, allow_nan=False),
    expected=st.floats(-1e12, 1e12, allow_nan=False),
    age=st.floats(0, 7200),
    ns=st.sampled_from(["shop", "kube-system", ""]),
)
facts_st = st.builds(
    GuardFacts,
    running=st.one_of(st.none(), st.just("inc-1")),
    last_closed_at=st.one_of(st.none(), st.floats(0, 1000)),
    run_starts=st.lists(st.floats(0, 1000), max_size=5).map(tuple),
    changes_last_hour=st.integers(0, 30),
    changes_per_hour=st.one_of(st.none(), st.integers(0, 30)),
    firing_alerts=st.frozensets(st.sampled_from(["Maintenance", "Other"])),
    state=st.one_of(st.none(), st.builds(
        TargetState, target=st.just(Target(kind="SandboxWorkload", name="x")),
        replicas=st.integers(0, 50), rollout_in_progress=st.booleans())),
)
BOOKS = [*load_runbooks([SANDBOX_RUNBOOKS]), runbook(LADDER)]


@settings(max_examples=200, deadline=None)
@given(stream=st.lists(signal_st, min_size=1, max_size=10), facts=facts_st)
def test_random_signal_streams_plan_with_reasons(stream: list[Any], facts: GuardFacts) -> None:
    """Every match plans without crashing; skips end with a skip code, runs carry steps."""
    for sig, expected in stream:
        sig = type(sig)(score=type(sig.score)(
            key=sig.score.key, t=sig.score.t, value=sig.score.value, score=sig.score.score,
            expected=expected, lower=expected, upper=expected), since=sig.since)
        for rb in BOOKS:
            m = match(rb, sig, 1000.0)
            if m is None:
                continue
            p = plan(m, facts, 1000.0)
            assert p.reasons and p.reasons[0].code is ReasonCode.MATCHED
            if p.decision is Decision.SKIP:
                assert p.reason.skip
                assert p.steps == ()
            else:
                assert len(p.steps) == len(rb.spec.steps)
                for s in p.steps:
                    if s.kind == "scale" and s.params.get("max") is not None:
                        assert s.params["max"] >= s.params["min"]
            assert all(isinstance(r, Reason) and r.message for r in p.reasons)
            assert math.isfinite(m.signal.t)
