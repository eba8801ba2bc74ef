"""What the page draws for an incident, as JSON-ready data: its series, episodes and marks.

Pure functions over an incident (the journal's JSON of it) and recorded points:

- :func:`incident_keys`: the series an incident shows, trigger first. An anomaly or
  forecast incident names its series exactly (its labels are the series' labels plus
  ``metric``); each step's ``verify`` metric on the same labels follows; an alert
  incident shows the series whose labels all agree with the alert's (``namespace``,
  ``workload``, ...);
- :func:`episodes`: the spans where the detector's score stayed at or above the floor;
- :func:`marks`: opened, each action (kind and status), each verification (its code),
  closed, all from the journal's typed fields and reason codes, never from prose;
- :func:`thin`: at most ``limit`` points, keeping each bucket's highest score so a
  short anomaly survives the thinning.

>>> from aiops.model import SeriesKey
>>> keys = [SeriesKey.of("memory_usage", namespace="shop", workload="cart"),
...         SeriesKey.of("cpu_usage", namespace="shop", workload="cart")]
>>> inc = {"labels": {"metric": "memory_usage", "namespace": "shop", "workload": "cart"},
...        "steps": [{"verify": {"metric": "cpu_usage"}}]}
>>> [(k.metric, role) for k, role in incident_keys(inc, keys)]
[('memory_usage', 'trigger'), ('cpu_usage', 'verify')]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol

from aiops.model import SeriesKey

#: Most series drawn for one incident.
MAX_SERIES = 6
#: Most points per series in one answer.
MAX_POINTS = 600

Role = Literal["trigger", "verify", "related"]


class Point(Protocol):
    """A recorded score (see :class:`aiops.telemetry.history.ScorePoint`)."""

    @property
    def t(self) -> float: ...
    @property
    def value(self) -> float: ...
    @property
    def expected(self) -> float: ...
    @property
    def lower(self) -> float: ...
    @property
    def upper(self) -> float: ...
    @property
    def score(self) -> float: ...
    @property
    def warm(self) -> bool: ...


def num(x: float | None, digits: int = 6) -> float | None:
    """``x`` rounded to ``digits`` significant digits; None for a gap (JSON has no NaN).

    >>> num(3.14159265, 3), num(float("nan")), num(0.0)
    (3.14, None, 0.0)
    """
    if x is None or not math.isfinite(x):
        return None
    if x == 0:
        return 0.0
    return round(x, max(0, digits - 1 - math.floor(math.log10(abs(x)))))


def incident_keys(incident: Mapping[str, Any],
                  keys: Sequence[SeriesKey]) -> list[tuple[SeriesKey, Role]]:
    """The recorded series an incident shows (at most :data:`MAX_SERIES`), trigger first."""
    labels = {str(k): str(v) for k, v in (incident.get("labels") or {}).items()}
    metric = labels.pop("metric", None)
    wanted: list[tuple[SeriesKey, Role]] = []
    known = set(keys)

    def add(key: SeriesKey, role: Role) -> None:
        if key in known and all(k != key for k, _ in wanted):
            wanted.append((key, role))

    if metric is not None:
        add(SeriesKey.of(metric, **labels), "trigger")
    for step in incident.get("steps") or ():
        verify = step.get("verify") if isinstance(step, Mapping) else None
        if isinstance(verify, Mapping) and verify.get("metric"):
            add(SeriesKey.of(str(verify["metric"]), **labels), "verify")
    if not wanted and labels:  # an alert: the series that agree with every label they share
        for key in keys:
            shared = [name for name, _ in key.labels if name in labels]
            if shared and all(key.label(n) == labels[n] for n in shared):
                add(key, "related")
    return wanted[:MAX_SERIES]


def episodes(
    points: Sequence[Point], floor: float, open_level: float | None = None
) -> list[list[float]]:
    """``[start, end]`` of each run of warm points scored at or above ``open_level``
    (default ``floor``) that reaches ``floor``.

    With the detector's ``episode_open`` as ``open_level`` a run starts where the
    detector's does (``Anomaly.since``, what a runbook's ``for:`` counts from).

    >>> from aiops.telemetry.history import ScorePoint
    >>> pts = [ScorePoint(t=t, value=0, expected=0, lower=0, upper=0, score=s, warm=True)
    ...        for t, s in [(0, 0.1), (15, 0.95), (30, 0.99), (45, 0.2), (60, 0.97)]]
    >>> episodes(pts, 0.9)
    [[15, 30], [60, 60]]
    >>> episodes(pts, 0.99, open_level=0.5)
    [[15, 30]]
    """
    low = floor if open_level is None else min(open_level, floor)
    out: list[list[float]] = []
    start: float | None = None
    last, peak = 0.0, 0.0
    for p in points:
        if p.warm and p.score >= low:
            if start is None:
                start, peak = p.t, p.score
            last, peak = p.t, max(peak, p.score)
            continue
        if start is not None and peak >= floor:
            out.append([start, last])
        start = None
    if start is not None and peak >= floor:
        out.append([start, last])
    return out


def thin(points: Sequence[Point], limit: int = MAX_POINTS) -> list[Point]:
    """At most ``limit`` points: per bucket of consecutive points, the highest score.

    >>> from aiops.telemetry.history import ScorePoint
    >>> pts = [ScorePoint(t=t, value=t, expected=0, lower=0, upper=0, score=1.0 if t == 5
    ...        else 0.0, warm=True) for t in range(10)]
    >>> [p.t for p in thin(pts, 3)]
    [0, 5, 8]
    """
    if len(points) <= limit:
        return list(points)
    size = math.ceil(len(points) / limit)
    return [max(points[i:i + size], key=lambda p: p.score)
            for i in range(0, len(points), size)]


def series_json(key: SeriesKey, role: Role, points: Sequence[Point], *, floor: float,
                limit: int = MAX_POINTS, open_level: float | None = None) -> dict[str, Any]:
    """One series as the page draws it: ``[t, value, expected, lower, upper, score]``
    rows (band and score null while the detector warms up) and its episodes."""
    kept = thin(points, limit)
    rows = [[num(p.t, 12), num(p.value), num(p.expected) if p.warm else None,
             num(p.lower) if p.warm else None, num(p.upper) if p.warm else None,
             num(p.score, 4) if p.warm else None] for p in kept]
    return {"key": str(key), "metric": key.metric, "labels": key.label_map, "role": role,
            "points": rows, "episodes": episodes(points, floor, open_level),
            "thinned": len(kept) < len(points)}


def marks(incident: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Opened, actions, verifications and closed, in time order, from typed fields.

    >>> inc = {"opened_at": 10.0, "closed_at": 99.0, "status": "resolved",
    ...        "close_code": "verified",
    ...        "actions": [{"started_at": 12.0, "kind": "restart", "status": "done", "step": 0}],
    ...        "timeline": [{"t": 80.0, "kind": "verify", "code": "verified",
    ...                      "detail": {"verdict": "pass"}}]}
    >>> [m["label"] for m in marks(inc)]
    ['opened', 'restart: done', 'verified', 'resolved']
    """
    out: list[dict[str, Any]] = []
    if isinstance(incident.get("opened_at"), int | float):
        out.append({"t": incident["opened_at"], "kind": "opened", "code": "opened",
                    "label": "opened"})
    for a in incident.get("actions") or ():
        out.append({"t": a.get("started_at"), "kind": "action", "code": str(a.get("status")),
                    "label": f"{a.get('kind')}: {a.get('status')}", "step": a.get("step")})
    for e in incident.get("timeline") or ():
        if e.get("kind") == "verify":
            out.append({"t": e.get("t"), "kind": "verify", "code": str(e.get("code")),
                        "label": str(e.get("code"))})
    if isinstance(incident.get("closed_at"), int | float):
        out.append({"t": incident["closed_at"], "kind": "closed",
                    "code": str(incident.get("close_code") or incident.get("status")),
                    "label": str(incident.get("status"))})
    return sorted((m for m in out if isinstance(m["t"], int | float)), key=lambda m: m["t"])
