"""Judge a verify condition from the latest value of a metric. Pure.

>>> v = VerifySpec(metric="latency_p99", below=0.5, within=180.0, on_no_data=Verdict.FAIL)
>>> judge(v, 0.3, started=0.0, now=30.0), judge(v, 0.9, started=0.0, now=30.0)
(<Verdict.PASS: 'pass'>, <Verdict.PENDING: 'pending'>)
>>> judge(v, 0.9, started=0.0, now=180.0), judge(v, None, started=0.0, now=200.0)
(<Verdict.FAIL: 'fail'>, <Verdict.FAIL: 'fail'>)
>>> describe(v)
'latency_p99 < 0.5 within 3m'
"""

from __future__ import annotations

import math

from aiops.config.durations import format_duration
from aiops.model import Verdict, VerifySpec


def holds(verify: VerifySpec, value: float) -> bool:
    """Whether ``value`` satisfies the ``below``/``above`` bound."""
    if verify.below is not None:
        return value < verify.below
    return verify.above is not None and value > verify.above


def judge(verify: VerifySpec, value: float | None, *, started: float, now: float) -> Verdict:
    """PASS as soon as the bound holds; at the deadline FAIL, or ``on_no_data`` if no data."""
    if value is not None and math.isfinite(value) and holds(verify, value):
        return Verdict.PASS
    if now - started < verify.within:
        return Verdict.PENDING
    if value is None or not math.isfinite(value):
        return verify.on_no_data
    return Verdict.FAIL


def describe(verify: VerifySpec) -> str:
    """``latency_p99 < 0.5 within 3m``."""
    op, bound = ("<", verify.below) if verify.below is not None else (">", verify.above)
    return f"{verify.metric} {op} {bound:g} within {format_duration(verify.within)}" \
        if bound is not None else f"{verify.metric} within {format_duration(verify.within)}"
