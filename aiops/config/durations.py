"""Human durations in configuration: ``90s``, ``5m``, ``1h30m``, ``2d`` or plain seconds."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator, WithJsonSchema

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")


def parse_duration(value: object) -> float:
    """Seconds in a duration.

    >>> parse_duration("1h30m")
    5400.0
    >>> parse_duration(15)
    15.0
    """
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 5m or 2h")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("duration must not be negative")
        return float(value)
    if not isinstance(value, str):
        raise ValueError("expected a duration such as 30s, 5m or 2h")
    text = value.strip().replace(" ", "")
    pos, total = 0, 0.0
    for m in _PART.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(text) or not text:
        try:
            return parse_duration(float(text))
        except ValueError:
            raise ValueError(
                f"invalid duration {value!r}: use a number of seconds or units ms, s, m, h, d, w"
            ) from None
    return total


def format_duration(seconds: float) -> str:
    """Compact rendering used in reasons: ``4m``, ``1h5m``, ``30s``.

    >>> format_duration(245)
    '4m5s'
    """
    s = round(seconds)
    if s <= 0:
        return "0s"
    out = ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if s >= size:
            out += f"{s // size}{unit}"
            s %= size
    return out


# What a person may write, for editors and `aiops schema`: seconds, or units ("1h30m").
DURATION_PATTERN = r"^ *(([0-9]+(\.[0-9]+)?(ms|s|m|h|d|w) *)+|[0-9]+(\.[0-9]+)?) *$"
DURATION_JSON_SCHEMA = {
    "anyOf": [
        {"type": "number", "minimum": 0},
        {"type": "string", "pattern": DURATION_PATTERN},
    ],
    "description": "A duration: seconds, or a string such as 90s, 5m, 1h30m, 2d.",
}

Duration = Annotated[
    float, BeforeValidator(parse_duration), WithJsonSchema(DURATION_JSON_SCHEMA)
]
