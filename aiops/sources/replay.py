"""Replay recorded metric history from CSV, as if it were live.

Columns: ``timestamp`` (Unix seconds or ISO 8601), ``metric``, ``value``, and any
other column is a label. Each :meth:`ReplaySource.pull` returns, per series, the
latest row at or before ``now`` that was not returned yet; a series with no new row
gets a NaN sample (a gap, so nothing acts on it).
"""

from __future__ import annotations

import bisect
import csv
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from aiops.errors import ConfigError
from aiops.model import Sample, SeriesKey, freeze_labels


def parse_timestamp(text: str) -> float:
    """Unix seconds from a number or an ISO 8601 string (naive means UTC).

    >>> parse_timestamp("2014-07-01 00:30:00")
    1404174600.0
    """
    try:
        return float(text)
    except ValueError:
        dt = datetime.fromisoformat(text.strip())
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return dt.timestamp()


def read_history(path: Path) -> dict[SeriesKey, tuple[list[float], list[float]]]:
    """Series in a history CSV as sorted (times, values), with located errors."""
    series: dict[SeriesKey, list[tuple[float, float]]] = {}
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            fields = reader.fieldnames or []
            missing = {"timestamp", "metric", "value"} - set(fields)
            if missing:
                raise ConfigError(
                    f"missing column(s) {', '.join(sorted(missing))}", file=str(path), line=1
                )
            label_cols = [f for f in fields if f not in ("timestamp", "metric", "value")]
            for lineno, row in enumerate(reader, start=2):
                try:
                    t = parse_timestamp(row["timestamp"])
                    v = float(row["value"]) if row["value"] not in ("", None) else math.nan
                except ValueError as exc:
                    raise ConfigError(str(exc), file=str(path), line=lineno) from None
                key = SeriesKey(
                    metric=row["metric"],
                    labels=freeze_labels({c: row[c] for c in label_cols if row.get(c)}),
                )
                series.setdefault(key, []).append((t, v))
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=str(path)) from None
    out: dict[SeriesKey, tuple[list[float], list[float]]] = {}
    for key, rows in series.items():
        rows.sort()
        out[key] = ([t for t, _ in rows], [v for _, v in rows])
    return out


class ReplaySource:
    """A :class:`~aiops.sources.base.Source` over a history CSV."""

    name = "replay"

    def __init__(self, path: Path) -> None:
        self.history = read_history(path)
        self._cursor: dict[SeriesKey, int] = {k: 0 for k in self.history}

    @property
    def span(self) -> tuple[float, float]:
        """First and last timestamp in the file."""
        starts = [ts[0] for ts, _ in self.history.values() if ts]
        ends = [ts[-1] for ts, _ in self.history.values() if ts]
        return (min(starts), max(ends)) if starts else (0.0, 0.0)

    def pull(self, now: float) -> Sequence[Sample]:
        out: list[Sample] = []
        for key, (times, values) in self.history.items():
            end = bisect.bisect_right(times, now)
            start = self._cursor[key]
            value = values[end - 1] if end > start else math.nan
            self._cursor[key] = max(start, end)
            out.append(Sample(key=key, t=now, value=value))
        return out

    def backfill(self, start: float, end: float) -> Sequence[Sample]:
        out: list[Sample] = []
        for key, (times, values) in self.history.items():
            lo, hi = bisect.bisect_left(times, start), bisect.bisect_left(times, end)
            out.extend(Sample(key=key, t=times[i], value=values[i]) for i in range(lo, hi))
        out.sort(key=lambda s: s.t)
        return out

    def close(self) -> None:
        return None
