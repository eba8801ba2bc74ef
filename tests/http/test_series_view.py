"""What the page draws for an incident: which series, episodes, thinning, marks."""

from __future__ import annotations

import json
import math

from aiops.http.series_view import MAX_SERIES, episodes, incident_keys, marks, series_json, thin
from aiops.model import SeriesKey
from aiops.telemetry.history import ScorePoint


def point(t: float, score: float = 0.1, *, warm: bool = True, value: float = 1.0) -> ScorePoint:
    return ScorePoint(t=t, value=value, expected=1.0, lower=0.5, upper=1.5, score=score, warm=warm)


KEYS = [SeriesKey.of(m, namespace="shop", workload=w)
        for w in ("cart", "checkout") for m in ("memory_usage", "latency_p99", "cpu_usage")]


def test_an_anomaly_incident_shows_its_series_then_each_verify_metric_once() -> None:
    """Trigger series first, then verify metrics on the same labels, without duplicates."""
    inc = {"labels": {"metric": "latency_p99", "namespace": "shop", "workload": "checkout"},
           "steps": [{"verify": {"metric": "latency_p99"}}, {"verify": {"metric": "cpu_usage"}},
                     {"verify": None}]}
    assert incident_keys(inc, KEYS) == [
        (SeriesKey.of("latency_p99", namespace="shop", workload="checkout"), "trigger"),
        (SeriesKey.of("cpu_usage", namespace="shop", workload="checkout"), "verify")]


def test_an_alert_incident_shows_the_series_its_labels_name() -> None:
    """An alert has no `metric`: the series agreeing with every label they share are shown."""
    inc = {"labels": {"alertname": "CartDown", "namespace": "shop", "workload": "cart",
                      "severity": "page"}, "steps": []}
    chosen = incident_keys(inc, [*KEYS, SeriesKey.of("up", job="x")])
    assert [(k.label("workload"), role) for k, role in chosen] == [("cart", "related")] * 3


def test_an_incident_shows_at_most_six_series() -> None:
    """However many series agree, the answer is capped."""
    many = [SeriesKey.of(f"m{i}", workload="cart") for i in range(20)]
    assert len(incident_keys({"labels": {"workload": "cart"}}, many)) == MAX_SERIES


def test_unrecorded_series_are_left_out() -> None:
    """An incident whose series has no history shows nothing rather than an empty chart."""
    inc = {"labels": {"metric": "error_rate", "namespace": "shop", "workload": "payments"}}
    assert incident_keys(inc, KEYS) == []


def test_episodes_ignore_warm_up_and_close_at_the_last_point() -> None:
    """High scores while warming are no episode; one still open ends at the last point."""
    pts = [point(0, 0.99, warm=False), point(15, 0.2), point(30, 0.95), point(45, 0.96)]
    assert episodes(pts, 0.9) == [[30, 45]]


def test_episodes_start_where_the_detectors_run_starts() -> None:
    """With the episode open level, an episode begins at the run's first point above it,
    as Anomaly.since does; a run that never reaches the floor is no episode."""
    pts = [point(0, 0.1), point(15, 0.4), point(30, 0.95), point(45, 0.5), point(60, 0.1),
           point(75, 0.6), point(90, 0.7), point(105, 0.1)]
    assert episodes(pts, 0.9, open_level=0.32) == [[15, 45]]
    assert episodes(pts, 0.9) == [[30, 30]]


def test_thinning_keeps_a_one_point_spike() -> None:
    """2000 points thinned to 100 still contain the single anomalous point."""
    pts = [point(float(t), 0.99 if t == 1234 else 0.0) for t in range(2000)]
    kept = thin(pts, 100)
    assert len(kept) <= 100 and any(p.t == 1234.0 for p in kept)
    assert [p.t for p in kept] == sorted(p.t for p in kept)


def test_series_json_is_strict_json_with_nulls_for_gaps_and_warm_up() -> None:
    """NaN values become null and a warming point has no band or score; episodes are kept."""
    pts = [point(0, 0.5, warm=False), point(15, 0.2, value=math.nan), point(30, 0.95)]
    doc = series_json(KEYS[0], "trigger", pts, floor=0.9)
    text = json.dumps(doc, allow_nan=False)  # raises on NaN
    rows = json.loads(text)["points"]
    assert rows[0][2:] == [None, None, None, None]
    assert rows[1][1] is None and rows[2][5] == 0.95
    assert doc["episodes"] == [[30, 30]]
    assert (doc["metric"], doc["labels"]) == ("memory_usage", {"namespace": "shop",
                                                               "workload": "cart"})


def test_marks_come_from_typed_fields_in_time_order() -> None:
    """Actions by status, verifications by reason code, skipping events that are neither."""
    inc = {"opened_at": 100.0, "closed_at": None, "status": "running",
           "actions": [{"started_at": 130.0, "kind": "scale", "status": "failed", "step": 1},
                       {"started_at": 110.0, "kind": "rollback", "status": "done", "step": 0}],
           "timeline": [{"t": 120.0, "kind": "verify", "code": "verify-failed"},
                        {"t": 121.0, "kind": "next-step", "code": "next-step"}]}
    got = [(m["t"], m["kind"], m["code"]) for m in marks(inc)]
    assert got == [(100.0, "opened", "opened"), (110.0, "action", "done"),
                   (120.0, "verify", "verify-failed"), (130.0, "action", "failed")]
