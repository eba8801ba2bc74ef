"""Simulated pods: start-up delay, newest removed first, under-provisioned time per interval."""

from __future__ import annotations

import numpy as np

from aiops.forecast.replay import SimulatedPods


def test_new_pods_serve_only_once_ready() -> None:
    """A pod created at t serves from t + startup; the gap before counts as under-provisioned."""
    pods = SimulatedPods(startup=90.0)
    pods.scale_to(1, now=-90.0)
    pods.scale_to(3, now=0.0)
    assert pods.ready(0.0) == 1 and pods.ready(89.0) == 1 and pods.ready(90.0) == 3
    under, dropped = pods.serve(250.0, 60.0, 120.0, 100.0)
    assert under == 30.0  # 60..90 has one ready pod for 250 req/s
    assert dropped == 150.0 * 30.0


def test_scale_down_removes_the_newest_first() -> None:
    """Scaling down drops the least-ready pods, as the ReplicaSet controller does."""
    pods = SimulatedPods(startup=90.0)
    pods.scale_to(2, now=-90.0)
    pods.scale_to(4, now=0.0)
    pods.scale_to(2, now=30.0)
    assert pods.ready(30.0) == 2 and len(pods) == 2


def test_state_round_trip() -> None:
    """Ready times survive the array round trip exactly."""
    pods = SimulatedPods(startup=90.0)
    pods.scale_to(3, now=12.5)
    other = SimulatedPods(startup=90.0)
    other.load_state(pods.state())
    assert other.ready_at == pods.ready_at
    assert np.array_equal(other.state(), pods.state())
