"""Secrets by reference in runbooks, argv hygiene: plans carry references, never values."""

from __future__ import annotations

import json

import pytest

from aiops.errors import ConfigErrors
from aiops.model import Decision, ReasonCode
from aiops.runbook import GuardFacts, match, plan
from aiops.runbook.lint import lint_text
from tests.runbook.factories import alert, runbook

NOTIFY = """
apiVersion: aiops/v1
kind: Runbook
metadata: {name: tell-ops}
spec:
  mode: auto
  triggers: [{alert: {alertname: Boom}}]
  target: {kind: Deployment, namespace: shop, name: web}
  steps:
    - action: notify
      with:
        url: https://hooks.example.com/ops
        headers: HEADERS
"""


def test_plan_copies_the_reference_not_the_secret() -> None:
    """A header reference reaches the plan as the reference itself (file or env)."""
    rb = runbook(NOTIFY.replace("HEADERS", "{Authorization: {secret_file: /run/s/ops}, "
                                           "X-Key: {env: OPS_KEY}, X-Team: sre}"))
    m = match(rb, alert("Boom"), 1.0)
    assert m is not None
    p = plan(m, GuardFacts(), 1.0)
    assert p.decision is Decision.RUN
    assert p.steps[0].params["headers"] == {
        "Authorization": {"secret_file": "/run/s/ops"}, "X-Key": {"env": "OPS_KEY"},
        "X-Team": "sre"}
    json.dumps(p.steps[0].params)  # journal-able as is


@pytest.mark.parametrize("bad", [
    "{Authorization: {secret_file: relative/path}}",
    "{Authorization: {env: 'not a name'}}",
    "{Authorization: {secret_file: /a, env: B}}",
    "{Authorization: {value: inline}}",
])
def test_bad_references_are_load_errors(bad: str) -> None:
    """A relative path, a bad variable name, both kinds, or an unknown key fail at load."""
    with pytest.raises(ConfigErrors):
        runbook(NOTIFY.replace("HEADERS", bad))


def test_lint_warns_on_a_literal_credential_header() -> None:
    """`runbook lint` flags a literal Authorization header, at its line, and not a reference."""
    text = NOTIFY.replace("HEADERS", "\n          Authorization: 'Bearer abc123'"
                                     "\n          X-Team: sre")
    findings = [f for f in lint_text(text, file="r.yaml") if "credential" in f.message]
    assert len(findings) == 1
    assert findings[0].field == "spec.steps[0].with.headers.Authorization"
    assert findings[0].line == 14 and findings[0].severity == "warning"
    ref = NOTIFY.replace("HEADERS", "{Authorization: {secret_file: /run/s/ops}}")
    assert not [f for f in lint_text(ref, file="r.yaml") if "credential" in f.message]


COMMAND = """
apiVersion: aiops/v1
kind: Runbook
metadata: {name: run-it}
spec:
  mode: auto
  triggers: [{alert: {alertname: Boom}}]
  target: {kind: SystemdUnit, name: web}
  steps:
    - action: command
      with: {argv: ARGV ALLOW}
"""


@pytest.mark.parametrize(
    ("argv", "allow", "value", "ok"),
    [
        ("['systemctl', 'restart', '{{ labels.unit }}']", "", "web", True),
        ("['systemctl', 'restart', '{{ labels.unit }}']", "", "--help", False),
        ("['systemctl', 'restart', '{{ labels.unit }}']", "", "-H evil", False),
        ("['systemctl', 'restart', '{{ labels.unit }}']", ", allow_leading_dash: true", "-x", True),
        ("['tool', '--unit={{ labels.unit }}']", "", "web", True),
        ("['tool', '{{ labels.unit }}']", "", "a\\x00b", False),
    ],
)
def test_a_label_cannot_become_an_option(argv: str, allow: str, value: str, ok: bool) -> None:
    """A templated argv element rendering to '-...' (or a NUL) makes the plan a skip."""
    rb = runbook(COMMAND.replace("ARGV", argv).replace(" ALLOW", allow))
    m = match(rb, alert("Boom", unit=value.replace("\\x00", "\x00")), 1.0)
    assert m is not None
    p = plan(m, GuardFacts(), 1.0)
    if ok:
        assert p.decision is Decision.RUN
    else:
        assert p.decision is Decision.SKIP and p.reason.code is ReasonCode.TEMPLATE_ERROR
        assert "argv[" in p.reason.message


LABEL_NAMESPACE = """
apiVersion: aiops/v1
kind: Runbook
metadata: {name: from-labels}
spec:
  triggers: [{alert: {alertname: Boom}}]
  target: {kind: Deployment, namespace: '{{ labels.namespace }}', name: web}
  GUARDS
  steps: [{action: restart}]
"""


def test_lint_warns_when_alert_labels_choose_the_namespace_unguarded() -> None:
    """A namespace templated from alert labels needs guards.allow_namespaces (lint warns)."""
    text = LABEL_NAMESPACE.replace("  GUARDS\n", "")
    found = [f for f in lint_text(text, file="r.yaml") if "allow_namespaces" in f.message]
    assert len(found) == 1 and found[0].field == "spec.target.namespace"
    guarded = LABEL_NAMESPACE.replace("GUARDS", "guards: {allow_namespaces: [shop]}")
    assert not [f for f in lint_text(guarded, file="r.yaml") if "allow_namespaces" in f.message]
