"""Sealed templates: hostile templates and label values fail one match with a reason."""

from __future__ import annotations

import pytest

from aiops.model import Decision, ReasonCode, Target
from aiops.runbook import GuardFacts, explain_match, match, plan
from aiops.runbook.templating import TemplateError, evaluate, render
from tests.runbook.factories import alert, runbook

CTX = {"labels": {"namespace": "shop", "workload": "cart", "big": "x" * 4000}}


@pytest.mark.parametrize(
    ("template", "why"),
    [
        ("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "nested more than"),
        ("{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",
         "steps of work"),
        ("{{ 'a' * 10**10 }}", "repetition"),
        ("{{ [1] * 10**8 }}", "repetition"),
        ("{{ 10 ** 100000 }}", "too large"),
        ("{{ '%99999999d' % 1 }}", "width or precision"),
        ("{{ '{:>999999999}'.format(1) }}", "width or precision"),
        ("{{ labels.big.replace('', labels.big) }}", "replace would produce"),
        ("{% macro f(s) %}{{ f(s ~ s) }}{% endmacro %}{{ f(labels.big) }}", "characters"),
        ("{% set x %}{% for i in range(20) %}{{ labels.big }}{% endfor %}{% endset %}{{ x }}",
         "block output"),
        ("{% for i in range(20) %}{{ labels.big }}{% endfor %}", "output past"),
        ("{{ range(10**6) | list }}", "range of"),
        ("{{ labels.update({'namespace': 'kube-system'}) }}", "unsafe"),
        ("{{ labels.__class__.__mro__ }}", "unsafe"),
        ("{% set ns = namespace(n=0) %}{{ ns.n }}", "undefined"),
    ],
)
def test_hostile_templates_raise_template_error(template: str, why: str) -> None:
    """Recursion, huge loops, repetition, widths, mutation: a TemplateError with the reason."""
    with pytest.raises(TemplateError, match=why):
        render(template, CTX)


def test_the_labels_seen_by_a_template_cannot_be_changed() -> None:
    """The immutable sandbox refuses mutating methods, so later renders see the same labels."""
    labels = {"namespace": "shop"}
    with pytest.raises(TemplateError):
        render("{{ labels.clear() }}", {"labels": labels})
    assert labels == {"namespace": "shop"}


def test_ordinary_templates_still_render() -> None:
    """Names, filters, formats and loops within the bounds render as before."""
    assert render("{{ labels.namespace }}/{{ labels.workload | upper }}", CTX) == "shop/CART"
    assert render("{{ '%s-%03d' % (labels.workload, 7) }}", CTX) == "cart-007"
    loop = "{% for k in labels | sort %}{{ k }},{% endfor %}"
    assert render(loop, CTX) == "big,namespace,workload,"
    assert render("{{ 'x' * 10 }}{{ 2 ** 64 }}", CTX) == "x" * 10 + str(2 ** 64)
    assert evaluate('labels.namespace == "shop" and labels.big | length > 100', CTX) is True


def test_a_bound_reached_in_one_evaluation_does_not_leak_into_the_next() -> None:
    """Each evaluation gets a fresh budget: a heavy one failing leaves the next unaffected."""
    heavy = "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}"
    for _ in range(3):
        with pytest.raises(TemplateError):
            render(heavy, CTX)
        assert render("{% for i in range(2000) %}.{% endfor %}", CTX) == "." * 2000


HOSTILE_WHEN = """
apiVersion: aiops/v1
kind: Runbook
metadata: {name: hostile}
spec:
  mode: auto
  triggers: [{alert: {alertname: Boom}}]
  when: 'WHEN'
  target: {kind: Deployment, namespace: shop, name: '{{ labels.deployment }}'}
  steps: [{action: restart}]
"""


@pytest.mark.parametrize("when", [
    "labels.deployment * 100000 == 1",
    "range(10000) | map(attribute=1) | list | length == 0 or range(10**7)",
    "[1] * 100000000",
])
def test_a_hostile_when_makes_that_plan_a_skip_with_the_reason(when: str) -> None:
    """A `when` past a bound is a skip naming the failure, not a crash of the cycle."""
    rb = runbook(HOSTILE_WHEN.replace("WHEN", when))
    m = match(rb, alert("Boom", deployment="web"), 1.0)
    assert m is not None
    p = plan(m, GuardFacts(), 1.0)
    assert p.decision is Decision.SKIP
    assert p.reason.code is ReasonCode.WHEN_ERROR
    assert p.reason.message.startswith("when: cannot evaluate")


TARGETED = """
apiVersion: aiops/v1
kind: Runbook
metadata: {name: targeted}
spec:
  mode: auto
  triggers: [{alert: {alertname: Boom}}]
  target: {kind: KIND, namespace: '{{ labels.namespace }}', name: '{{ labels.object }}'}
  steps: [{action: restart}]
"""


@pytest.mark.parametrize(
    ("kind", "namespace", "name", "why"),
    [
        ("Deployment", "kube-system\n", "web", "not a DNS-1123 label"),
        ("Deployment", "Shop", "web", "not a DNS-1123 label"),
        ("Deployment", "shop", "web/../../secrets", "not a DNS-1123 subdomain"),
        ("Deployment", "shop", "x" * 300, "not a DNS-1123 subdomain"),
        ("StatefulSet", "shop", "-web", "not a DNS-1123 subdomain"),
        ("SystemdUnit", "", "nginx.service\n", "not a valid systemd unit"),
        ("SystemdUnit", "", "--help", "not a valid systemd unit"),
        ("SystemdUnit", "", "a b.service", "not a valid systemd unit"),
        ("SandboxWorkload", "shop", "cart.v2", "not a DNS-1123 label"),
    ],
)
def test_label_values_that_are_not_valid_names_fail_the_match(kind: str, namespace: str,
                                                              name: str, why: str) -> None:
    """A rendered target is checked against its kind's naming rules before any actuator."""
    rb = runbook(TARGETED.replace("KIND", kind))
    got = explain_match(rb, alert("Boom", namespace=namespace, object=name), 1.0)
    assert isinstance(got, str) and got.startswith("target:") and why in got


@pytest.mark.parametrize(
    ("kind", "namespace", "name"),
    [("Deployment", "shop", "web.v2"), ("StatefulSet", "", "db"),
     ("SystemdUnit", "", "backup@daily.timer"), ("SystemdUnit", "", "nginx"),
     ("SandboxWorkload", "shop", "cart")],
)
def test_valid_names_still_match(kind: str, namespace: str, name: str) -> None:
    """Ordinary names pass the checks unchanged."""
    rb = runbook(TARGETED.replace("KIND", kind))
    m = match(rb, alert("Boom", namespace=namespace, object=name), 1.0)
    assert m is not None and m.target == Target(kind=kind, namespace=namespace, name=name)
