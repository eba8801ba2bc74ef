"""Hostile request bodies for ``aiops bench attack``: seeded, reproducible, varied.

Each :func:`request` draws one POST against the webhook or the approvals route: a real
v4 payload whose labels carry attack values (option-like, newline-terminated, template
syntax, oversized, NUL, non-ASCII), random JSON, byte-level mutations of valid bodies,
and the classic parser attacks (deep nesting, 5,000-digit numbers, ``NaN``, invalid
UTF-8, UTF-16, a body past the cap), sent with the right or a wrong token, content type
or origin. The server must answer every one below 500.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

ALERTNAMES = ("HostileTemplate", "ArgvProbe", "NeedsApproval", "TargetProbe", "Unmatched")
LABEL_ATTACKS = (
    "--help", "-rf", "kube-system", "kube-system\n", "shop\n", "web.service\n", "../../etc",
    "{{ 7 * 7 }}", "{% for i in range(10**8) %}{% endfor %}", "{{ labels.update({}) }}",
    "\x00", "nul\x00byte", "😀" * 100, "Ünïcödé", "UPPER", "a b",
    " ", "", "web", "cart", "checkout", "payments", "a" * 64, "a" * 254, "0" * 20,
    "${jndi:ldap://x}", "'; DROP TABLE incidents; --", "<script>alert(1)</script>",
)
LABEL_NAMES = ("namespace", "workload", "deployment", "unit", "pod", "severity", "x" * 300,
               "", "a b", "__name__", "😀", "namespace", "workload", "deployment", "unit")
SPECIALS: tuple[bytes, ...] = (
    b"[" * 100_000 + b"]" * 100_000,
    b'{"version": "4", "alerts": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    b'{"version": "4", "truncatedAlerts": ' + b"9" * 5000 + b', "alerts": []}',
    b'{"version": "4", "truncatedAlerts": 1e999, "alerts": []}',
    b'{"version": "4", "truncatedAlerts": NaN, "alerts": []}',
    b'{"version": "4", "alerts": [], "x": -Infinity}',
    b'{"version": "4", "alerts": [{"status": "\xff\xfe"}]}',
    "{\"version\": \"4\", \"alerts\": []}".encode("utf-16"),
    b"\xef\xbb\xbf{\"version\": \"4\", \"alerts\": []}",
    b"", b"null", b"0", b'"4"', b"[]", b"{}", b"{" * 10, b'{"approver": "alice"}',
    b'{"version": "4", "alerts": [' + b"{}," * 10_000 + b"{}]}",
    b'{"version": "4", "alerts": [], "pad": "' + b"x" * 1_100_000 + b'"}',
)


@dataclass(frozen=True, kw_only=True, slots=True)
class Request:
    """One hostile request: route, path, headers and body."""

    route: str
    path: str
    headers: dict[str, str]
    body: bytes


def _random_json(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 4 or roll < 0.35:
        return rng.choice([None, True, False, rng.randint(-10**6, 10**6), rng.random() * 1e6,
                           rng.choice(LABEL_ATTACKS)[:200], "4", 4, "firing"])
    if roll < 0.7:
        return [_random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {rng.choice((*LABEL_NAMES, "version", "alerts", "approver", "status")):
            _random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))}


BREAKS = (
    ("status", "burning"), ("startsAt", "now"), ("startsAt", "2026-13-45T99:99:99Z"),
    ("fingerprint", ""), ("labels", {"a": 1}), ("labels", {"pod": "x" * 5000}),
    ("annotations", {"text": "y" * 70_000}), ("labels", "alertname=x"), ("status", None),
)


def alert_payload(rng: random.Random, *, alertname: str | None = None) -> dict[str, Any]:
    """A v4 payload of 1-3 alerts whose labels are attack values; one in ten breaks the schema."""
    alerts = []
    for _ in range(rng.randint(1, 3)):
        labels = {"alertname": alertname or rng.choice(ALERTNAMES)}
        for _ in range(rng.randint(0, 4)):
            labels[rng.choice(LABEL_NAMES)] = rng.choice(LABEL_ATTACKS)
        alerts.append({
            "status": "firing" if rng.random() < 0.9 else "resolved",
            "labels": labels,
            "annotations": {"summary": rng.choice(LABEL_ATTACKS)[:500]},
            "startsAt": rng.choice(["2026-11-27T11:33:00.002Z", "2026-11-27T11:33:00Z"]),
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus/graph",
            "fingerprint": f"{rng.getrandbits(64):016x}",
        })
    payload: dict[str, Any] = {"version": "4", "status": "firing", "receiver": "aiops",
                               "groupKey": "{}", "truncatedAlerts": 0, "alerts": alerts}
    if rng.random() < 0.1:
        key, value = rng.choice(BREAKS)
        broken: dict[str, Any] = rng.choice(alerts)
        broken[key] = value
    elif rng.random() < 0.03:
        payload[rng.choice(["version", "truncatedAlerts", "alerts"])] = rng.choice(
            [4, "3", -1, None, {}])
    return payload


def _mutate(rng: random.Random, body: bytes) -> bytes:
    if not body:
        return body
    kind = rng.randrange(6)
    i = rng.randrange(len(body))
    if kind == 0:
        return body[:i]
    if kind == 1:
        return body[:i] + bytes([rng.randrange(256)]) + body[i + 1:]
    if kind == 2:
        return body[:i] + rng.randbytes(rng.randint(1, 16)) + body[i:]
    if kind == 3:
        return body[:i] + b"\xff\xfe\xc0" + body[i:]
    if kind == 4:
        return body[:i] + body[i:i + 40] * rng.randint(2, 50) + body[i:]
    return body.replace(b'"firing"', b'"' + b"\\u0000" * 5 + b'"', 1)


def _body(rng: random.Random, route: str) -> bytes:
    roll = rng.random()
    if roll < 0.05:
        return rng.choice(SPECIALS)
    if roll < 0.15:
        return json.dumps(_random_json(rng)).encode()
    if roll < 0.2:
        return rng.randbytes(rng.randint(0, 200))
    if route == "approvals":
        data: Any = rng.choice([{}, {"approver": "alice"}, {"approver": "bob"},
                                {"approver": rng.choice(LABEL_ATTACKS)[:100]},
                                {"approver": None}, [], "alice", _random_json(rng)])
        body = json.dumps(data).encode()
    else:
        body = json.dumps(alert_payload(rng)).encode()
    return _mutate(rng, body) if roll < 0.3 else body


def _headers(rng: random.Random, token: str, others: dict[str, str]) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    roll = rng.random()
    if roll < 0.04:
        headers["Content-Type"] = rng.choice(["text/plain", "application/x-www-form-urlencoded",
                                              "multipart/form-data; boundary=x",
                                              "application/json; charset=latin-1", "", "json"])
    elif roll < 0.06:
        headers["Origin"] = rng.choice(["http://evil.example", "null", "http://127.0.0.1:1"])
    elif roll < 0.08:
        del headers["Authorization"]
    elif roll < 0.10:
        headers["Authorization"] = rng.choice(["Bearer wrong", "Basic !!!", "Bearer", "Token x",
                                               "Bearer " + "x" * 5000])
    elif roll < 0.12:
        headers["Authorization"] = f"Bearer {rng.choice(list(others.values()))}"  # wrong role
    return headers


def request(rng: random.Random, *, tokens: dict[str, list[str]],
            incidents: list[str]) -> Request:
    """One hostile request; ``tokens`` maps a role ('alerts', 'approve') to tokens holding it."""
    route = "alerts" if rng.random() < 0.7 else "approvals"
    if route == "alerts":
        path = "/v1/alerts"
    else:
        ident = rng.choice(incidents) if incidents and rng.random() < 0.6 else rng.choice(
            ["nope", "x" * 500, "..%2F..%2Fetc", "%00", "😀", "a%20b", "inc-" + "9" * 40])
        path = f"/v1/approvals/{ident}"
    role = "alerts" if route == "alerts" else "approve"
    others = {k: rng.choice(v) for k, v in tokens.items() if k != role}
    return Request(route=route, path=path, headers=_headers(rng, rng.choice(tokens[role]), others),
                   body=_body(rng, route))
