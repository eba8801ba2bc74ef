"""Malformed Prometheus answers are a source error, never a crash; bad timestamps are gaps."""

from __future__ import annotations

import json
import math
import time
from typing import Any

import pytest

from aiops.config.sources import PrometheusConfig, PrometheusQuery
from aiops.errors import SourceUnavailable
from aiops.sources.prometheus import PrometheusSource
from tests.realservers.stub import StubServer

QUERY = PrometheusQuery(name="cpu_usage", query="up", keep_labels=["pod"])


def _vector(*items: Any) -> dict[str, Any]:
    return {"status": "success", "data": {"resultType": "vector", "result": list(items)}}


def _source(url: str) -> PrometheusSource:
    return PrometheusSource(PrometheusConfig(url=url, queries=[QUERY], retries=0))


@pytest.mark.parametrize("item", [
    {"metric": "pod=web", "value": [1.0, "1"]},                 # metric is a string
    {"metric": {"pod": 3}, "value": [1.0, "1"]},                # a label value that is a number
    {"metric": ["pod"], "value": [1.0, "1"]},
    {"metric": {}, "value": [1.0]},                              # one element
    {"metric": {}, "value": [1.0, 2.0]},                         # value not a string
    {"metric": {}, "value": [True, "1"]},
    {"metric": {}, "value": [{"t": 1}, "1"]},
    {"metric": {}, "value": ["soon", "1"]},
])
def test_malformed_instant_answers_are_source_unavailable(item: dict[str, Any]) -> None:
    """Every wrong shape raises SourceUnavailable naming 'malformed', not a TypeError."""
    with StubServer(body=_vector(item)) as srv, pytest.raises(SourceUnavailable, match="malformed"):
        _source(srv.url).pull(time.time())


@pytest.mark.parametrize("values", [
    [[1.0]], "nope", [["x", "1"]], [[1.0, 1.0]],
])
def test_malformed_range_answers_are_source_unavailable(values: Any) -> None:
    """backfill: a matrix of the wrong shape is a source error too (warm-up survives it)."""
    body = {"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": {"pod": "a"}, "values": values}]}}
    with StubServer(body=body) as srv, pytest.raises(SourceUnavailable, match="malformed"):
        _source(srv.url).backfill(time.time() - 600, time.time())


@pytest.mark.parametrize("stamp", [b"NaN", b"Infinity", b"-Infinity", b"1e999", b'"NaN"',
                                   b"1e18"])
def test_non_finite_or_future_timestamps_are_rejected_and_counted(stamp: bytes) -> None:
    """A NaN/inf/far-future timestamp is never a fresh sample: a gap, counted in rejected."""
    body = (b'{"status": "success", "data": {"resultType": "vector", "result": ['
            b'{"metric": {"pod": "a"}, "value": [' + stamp + b', "5"]},'
            b'{"metric": {"pod": "b"}, "value": [' + json.dumps(time.time()).encode()
            + b', "7"]}]}}')
    with StubServer(body=body) as srv:
        src = _source(srv.url)
        samples = {s.key.labels: s.value for s in src.pull(time.time())}
    assert src.rejected["timestamp"] == 1
    values = sorted(samples.items())
    assert math.isnan(values[0][1]) and values[1][1] == 7.0
