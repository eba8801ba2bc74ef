"""Is a rendered target a valid object name? Checked before any actuator sees it. Pure.

Targets are rendered from label values a sender chooses, so each is checked against the
naming rules of what it names (whole-string matches: a trailing newline never passes):

- Kubernetes namespaces (and sandbox names): RFC 1123 DNS labels, at most 63 characters;
- Deployment and StatefulSet names: RFC 1123 DNS subdomains, at most 253 characters;
- systemd units: ASCII letters, digits and ``:_.\\-``, an optional ``@instance``, an
  optional type suffix, at most 255 characters in all, and never starting with ``-``
  (it would reach ``systemctl`` as an option).

>>> from aiops.model import Target
>>> target_problem(Target(kind="Deployment", namespace="shop", name="cart.v2"))
>>> target_problem(Target(kind="Deployment", namespace="Shop", name="cart"))
"namespace 'Shop' is not a DNS-1123 label (lowercase letters, digits, '-'; at most 63)"
>>> target_problem(Target(kind="SystemdUnit", name="nginx.service\\n"))
"unit name 'nginx.service\\\\n' is not a valid systemd unit name"
"""

from __future__ import annotations

import re

from aiops.model import Target

_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_SUBDOMAIN_PART = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN = re.compile(rf"{_SUBDOMAIN_PART}(\.{_SUBDOMAIN_PART})*")
_UNIT_TYPES = ("service", "socket", "device", "mount", "automount", "swap", "target", "path",
               "timer", "slice", "scope")
_UNIT = re.compile(
    r"[A-Za-z0-9:_.\\][A-Za-z0-9:_.\\-]*(@[A-Za-z0-9:_.\\-]*)?"
    rf"(\.({'|'.join(_UNIT_TYPES)}))?"
)
LABEL_RULE = "a DNS-1123 label (lowercase letters, digits, '-'; at most 63)"
SUBDOMAIN_RULE = "a DNS-1123 subdomain (lowercase letters, digits, '-', '.'; at most 253)"


def dns_label(value: str) -> bool:
    """Whether ``value`` is an RFC 1123 label (Kubernetes namespaces, most names)."""
    return _LABEL.fullmatch(value) is not None


def dns_subdomain(value: str) -> bool:
    """Whether ``value`` is an RFC 1123 subdomain (Deployment and StatefulSet names)."""
    return len(value) <= 253 and _SUBDOMAIN.fullmatch(value) is not None


def systemd_unit(value: str) -> bool:
    """Whether ``value`` is a systemd unit name (suffix optional, no leading '-').

    >>> systemd_unit("backup@daily.timer"), systemd_unit("--help"), systemd_unit("a b")
    (True, False, False)
    """
    return 0 < len(value) <= 255 and _UNIT.fullmatch(value) is not None


def target_problem(target: Target) -> str | None:
    """Why ``target`` cannot be acted on, or ``None`` when its names are valid."""
    ns, name = target.namespace, target.name
    if target.kind == "SystemdUnit":
        if ns and not dns_label(ns):
            return f"namespace {ns[:80]!r} is not {LABEL_RULE}"
        if not systemd_unit(name):
            return f"unit name {name[:80]!r} is not a valid systemd unit name"
        return None
    if ns and not dns_label(ns):
        return f"namespace {ns[:80]!r} is not {LABEL_RULE}"
    if target.kind in ("Deployment", "StatefulSet"):
        if not dns_subdomain(name):
            return f"name {name[:80]!r} is not {SUBDOMAIN_RULE}"
        return None
    if not dns_label(name):
        return f"name {name[:80]!r} is not {LABEL_RULE}"
    return None
