"""A sealed jinja2 environment: immutable sandbox, curated filters, every evaluation bounded.

Templates see label values an attacker may choose, so each evaluation is bounded in
work, size and depth, and any excess raises :class:`Bound` (a ``SecurityError``):

- **work**: at most ``MAX_STEPS`` steps per evaluation (a loop of 10^8 stops after 2x10^4
  steps, about 10 ms): template lines, counted by a line tracer active only in template
  frames while :func:`bounded` runs, plus one step per item (or 64 characters) a filter
  or call produces;
- **size**: a ``*``, ``%``, ``**``, call or filter result longer than ``MAX_OUTPUT``
  characters (or ``MAX_ITEMS`` items), a captured block (``{% set %}``, a macro body)
  or a whole rendering past ``MAX_OUTPUT``, integer arguments past ``MAX_INT_ARG``;
- **depth**: macros nested more than ``MAX_DEPTH`` calls deep (a recursive macro stops
  long before Python's recursion limit).

The sandbox is :class:`~jinja2.sandbox.ImmutableSandboxedEnvironment` (``labels.update()``
is refused), with ``namespace``, ``lipsum``, ``cycler`` and ``joiner`` removed (a
namespace lets a loop accumulate state) and only the filters listed in ``FILTERS``.
Pure: no I/O, no clock.
"""

from __future__ import annotations

import functools
import re
import string
import sys
import threading
from collections.abc import Callable, Iterator, Sized
from contextlib import contextmanager
from types import FrameType
from typing import Any

from jinja2 import StrictUndefined
from jinja2.exceptions import SecurityError
from jinja2.filters import FILTERS as JINJA_FILTERS
from jinja2.runtime import Context, Macro
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_STEPS = 20_000
MAX_OUTPUT = 65_536
MAX_ITEMS = 10_000
MAX_INT_ARG = 10_000
MAX_DEPTH = 16
MAX_POWER_BITS = 4096
#: Filters templates may use (others, e.g. ``indent``, ``wordwrap``, ``center``, ``random``
#: and ``xmlattr``, are not needed for names and bodies and multiply sizes).
FILTERS = frozenset({
    "abs", "capitalize", "count", "d", "default", "dictsort", "first", "float", "format",
    "groupby", "int", "items", "join", "last", "length", "list", "lower", "map", "max", "min",
    "reject", "rejectattr", "replace", "reverse", "round", "select", "selectattr", "slice",
    "sort", "string", "sum", "title", "tojson", "trim", "truncate", "unique", "upper",
    "urlencode", "wordcount",
})
MAX_WIDTH = 1000
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_SPEC_NUMBER = re.compile(r"\d+")
TEMPLATE_FILE = "<template>"


class Bound(SecurityError):
    """An evaluation went past one of the bounds (work, size or depth)."""


class _Budget(threading.local):
    steps: int = MAX_STEPS
    depth: int = 0
    active: bool = False


_BUDGET = _Budget()


def _line(frame: FrameType, event: str, arg: Any) -> Any:
    if event == "line":
        _BUDGET.steps -= 1
        if _BUDGET.steps < 0:
            raise Bound(f"template did more than {MAX_STEPS} steps of work")
    return _line


def _call(frame: FrameType, event: str, arg: Any) -> Any:
    return _line if frame.f_code.co_filename == TEMPLATE_FILE else None


@contextmanager
def bounded() -> Iterator[None]:
    """Count template steps for the duration of one evaluation (re-entrant)."""
    if _BUDGET.active:
        yield
        return
    previous = sys.gettrace()
    _BUDGET.steps, _BUDGET.depth, _BUDGET.active = MAX_STEPS, 0, True
    sys.settrace(_call)
    try:
        yield
    finally:
        sys.settrace(previous)
        _BUDGET.active = False


def _charge(steps: int, what: str) -> None:
    """Count work done outside template lines (filters, calls) against the budget."""
    if _BUDGET.active and steps:
        _BUDGET.steps -= steps
        if _BUDGET.steps < 0:
            raise Bound(f"template did more than {MAX_STEPS} steps of work ({what})")


def check_size(value: Any, what: str) -> Any:
    """``value`` unless it is a string past ``MAX_OUTPUT`` or a collection past ``MAX_ITEMS``.

    Producing it is charged as work: one step per item, or per 64 characters.
    """
    if isinstance(value, str):
        if len(value) > MAX_OUTPUT:
            raise Bound(f"{what} is {len(value)} characters (limit {MAX_OUTPUT})")
        _charge(len(value) // 64, what)
    elif isinstance(value, list | tuple | dict | set):
        if len(value) > MAX_ITEMS:
            raise Bound(f"{what} has {len(value)} items (limit {MAX_ITEMS})")
        _charge(len(value), what)
    return value


def _check_args(args: tuple[Any, ...], kwargs: dict[str, Any], what: str) -> None:
    for a in (*args, *kwargs.values()):
        if isinstance(a, int) and not isinstance(a, bool) and abs(a) > MAX_INT_ARG:
            raise Bound(f"{what}: argument {a} is past {MAX_INT_ARG}")
        if isinstance(a, str | list | tuple | dict):
            check_size(a, f"{what}: argument")


def _check_format(fmt: str, what: str, *, style: str) -> None:
    """Refuse a format asking for a width or precision past ``MAX_WIDTH`` (or a ``*`` one).

    >>> _check_format("%-8s port 10000 %.2f", "%", style="%")
    >>> _check_format("{:>99999}", "format", style="{")
    Traceback (most recent call last):
    ...
    aiops.runbook.sealed.Bound: format: width or precision 99999 is past 1000
    """
    numbers: list[str] = []
    if style == "%":
        for m in _PERCENT_SPEC.finditer(fmt):
            numbers += [g for g in m.groups() if g]
    else:
        try:
            specs = [spec or "" for _, _, spec, _ in string.Formatter().parse(fmt)]
        except ValueError:
            return  # not a valid format: str.format raises on its own
        for spec in specs:
            if "{" in spec:
                raise Bound(f"{what}: nested format fields are not allowed")
            numbers += _SPEC_NUMBER.findall(spec)
    for n in numbers:
        if n == "*" or int(n) > MAX_WIDTH:
            raise Bound(f"{what}: width or precision {n} is past {MAX_WIDTH}")


def _check_replace(s: str, old: Any, new: Any) -> None:
    if isinstance(old, str) and isinstance(new, str):
        hits = s.count(old) if old else len(s) + 1
        if len(s) + hits * (len(new) - len(old)) > MAX_OUTPUT:
            raise Bound(f"replace would produce more than {MAX_OUTPUT} characters")


def _bounded_filter(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        _check_args(args, kwargs, f"filter {name}")
        values = [a for a in args if isinstance(a, str)]
        if name == "replace" and len(values) >= 3:
            _check_replace(values[0], values[1], values[2])
        if name == "format" and values:
            _check_format(values[0], "filter format", style="%")
        return check_size(fn(*args, **kwargs), f"filter {name}")

    return run


def _range(*args: int) -> range:
    r = range(*args)
    if len(r) > MAX_ITEMS:
        raise Bound(f"range of {len(r)} items (limit {MAX_ITEMS})")
    return r


def _bounded_join(parts: Any) -> str:
    items = list(parts)
    total = sum(len(p) for p in items if isinstance(p, Sized))
    if total > MAX_OUTPUT:
        raise Bound(f"block output of {total} characters (limit {MAX_OUTPUT})")
    return "".join(items)


class SealedEnvironment(ImmutableSandboxedEnvironment):
    """The immutable sandbox with bounded operators, calls, filters and macro depth."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self) -> None:
        super().__init__(undefined=StrictUndefined, autoescape=False)
        self.globals = {"range": _range, "dict": dict}
        self.filters = {n: _bounded_filter(n, f) for n, f in JINJA_FILTERS.items() if n in FILTERS}
        self.concat = _bounded_join  # type: ignore[method-assign]

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(left, int) and isinstance(right, int) \
                and abs(left) > 1 and right > 0 and abs(left).bit_length() * right > MAX_POWER_BITS:
            raise Bound(f"{left} ** {right} is too large")
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(n, int) \
                        and len(seq) * max(n, 0) > MAX_OUTPUT:
                    raise Bound(f"repetition of {len(seq)} x {n} is past {MAX_OUTPUT}")
        if operator == "%" and isinstance(left, str):
            _check_format(left, "%", style="%")
        return check_size(super().call_binop(context, operator, left, right), f"'{operator}'")

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            _check_format(str(value.__self__), str(value.__name__), style="{")
        return wrapped

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        what = getattr(__obj, "__name__", type(__obj).__name__)
        if __obj is not _range:
            _check_args(args, kwargs, f"call {what}")
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            if what == "expandtabs":
                raise Bound("expandtabs is not allowed")
            if what == "replace" and len(args) >= 2:
                _check_replace(owner, args[0], args[1])
        if not isinstance(__obj, Macro):
            return check_size(super().call(__context, __obj, *args, **kwargs), f"call {what}")
        if _BUDGET.depth >= MAX_DEPTH:
            raise Bound(f"macros nested more than {MAX_DEPTH} deep")
        _BUDGET.depth += 1
        try:
            return check_size(super().call(__context, __obj, *args, **kwargs), f"macro {what}")
        finally:
            _BUDGET.depth -= 1
