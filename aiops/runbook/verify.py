"""Judge a verify condition from the latest value of a metric. Pure.

>>> v = {"metric": "latency_p99", "below": 0.5, "within": 180.0, "on_no_data": "fail"}
>>> judge(v, 0.3, started=0.0, now=30.0), judge(v, 0.9, started=0.0, now=30.0)
(<Verdict.PASS: 'pass'>, <Verdict.PENDING: 'pending'>)
>>> judge(v, 0.9, started=0.0, now=180.0), judge(v, None, started=0.0, now=200.0)
(<Verdict.FAIL: 'fail'>, <Verdict.FAIL: 'fail'>)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from aiops.model import Verdict


def holds(verify: Mapping[str, Any], value: float) -> bool:
    """Whether ``value`` satisfies the ``below``/``above`` bound."""
    below, above = verify.get("below"), verify.get("above")
    if below is not None:
        return value < float(below)
    return above is not None and value > float(above)


def judge(verify: Mapping[str, Any], value: float | None, *, started: float, now: float) -> Verdict:
    """PASS as soon as the bound holds; at the deadline FAIL, or ``on_no_data`` if no data."""
    if value is not None and math.isfinite(value) and holds(verify, value):
        return Verdict.PASS
    if now - started < float(verify.get("within", 300.0)):
        return Verdict.PENDING
    if value is None or not math.isfinite(value):
        return Verdict(str(verify.get("on_no_data", "inconclusive")))
    return Verdict.FAIL


def describe(verify: Mapping[str, Any]) -> str:
    """``latency_p99 < 0.5 within 3m``."""
    from aiops.config.durations import format_duration

    op, bound = ("<", verify.get("below")) if verify.get("below") is not None else (
        ">", verify.get("above"))
    within = format_duration(float(verify.get("within", 300)))
    return f"{verify.get('metric')} {op} {bound} within {within}"
