"""The joint bank: HalfSpaceTrees per workload over its cpu/memory/latency vector."""

from __future__ import annotations

import math

import numpy as np

from aiops.config.detect import DetectConfig
from aiops.detect.bank import DetectorBank
from aiops.detect.joint import JointBank
from aiops.model import Sample, SeriesKey

METRICS = ("cpu_usage", "memory_usage", "latency_p99")
ON = DetectConfig.model_validate({"joint": {"enabled": True}})


def vector(
    t: float, cpu: float, mem: float, lat: float, workload: str = "checkout"
) -> list[Sample]:
    values = dict(zip(METRICS, (cpu, mem, lat), strict=True))
    return [Sample(key=SeriesKey.of(m, namespace="shop", workload=workload), t=t, value=v)
            for m, v in values.items()]


def normal(rng: np.random.Generator, t: float, workload: str = "checkout") -> list[Sample]:
    """One cycle of a workload whose cpu, memory and latency all follow its load."""
    load = 0.5 + 0.1 * rng.normal()
    return vector(t, 0.2 + 0.6 * load + 0.02 * rng.normal(), 300 + 200 * load + 5 * rng.normal(),
                  0.1 + 0.3 * load + 0.01 * rng.normal(), workload)


# Low cpu and memory (light load) with high latency (heavy load): each metric 3-5 of its
# own spreads from its mean, which no per-series score takes to 0.9; jointly a
# combination never seen (latency should follow cpu and memory).
JOINT_OUTLIER = (0.3, 330.0, 0.4)


def test_flags_joint_outlier_no_single_metric_flags_and_names_latency() -> None:
    """A vector unusual only jointly scores >= 0.9, latency_p99 named top; no series scores 0.9."""
    for seed in range(3):
        rng = np.random.default_rng(seed)
        joint, single = JointBank(ON), DetectorBank(ON)
        for i in range(joint.warm_after + 100):
            cycle = normal(rng, 15.0 * i)
            joint.update(cycle)
            single.update(cycle)
        t = 15.0 * (joint.warm_after + 100)
        [s] = joint.update(vector(t, *JOINT_OUTLIER))
        per_series = single.update(vector(t, *JOINT_OUTLIER))
        assert s.warm and s.score >= 0.9, (seed, s)
        assert s.contributions[0][0] == "latency_p99", (seed, s.contributions)
        assert math.isclose(sum(share for _, share in s.contributions), 1.0)
        assert s.why.startswith("workload checkout joint cpu_usage/memory_usage/latency_p99 "
                                "unusual, score "), s.why
        assert s.why.endswith(f": latency_p99 {100 * s.contributions[0][1]:.0f}%"), s.why
        assert max(p.score for p in per_series) < 0.9, [(p.key.metric, p.score) for p in per_series]


def test_normal_cycles_rarely_cross_the_signal_floor() -> None:
    """On steady correlated load, fewer than 2% of warm joint scores reach 0.9."""
    rng = np.random.default_rng(7)
    bank = JointBank(ON)
    scores = [s.score for i in range(bank.warm_after + 400)
              for s in bank.update(normal(rng, 15.0 * i)) if s.warm]
    assert len(scores) >= 400
    assert sum(sc >= 0.9 for sc in scores) < 0.02 * len(scores)


def test_score_shape_of_a_score_only_detector() -> None:
    """Joint Scores carry key joint{workload labels}, value = score, band 0..threshold."""
    rng = np.random.default_rng(1)
    bank = JointBank(ON)
    out = []
    for i in range(bank.warm_after + 5):
        out = bank.update(normal(rng, 15.0 * i))
    [s] = out
    assert s.key == SeriesKey.of("joint", namespace="shop", workload="checkout")
    assert s.warm and s.kind == "joint" and s.detectors == ("halfspace",)
    assert s.value == s.score and s.expected == 0.0 and s.lower == 0.0
    assert s.upper == ON.threshold
    assert s.t == 15.0 * (bank.warm_after + 4)


def test_warming_up_scores_zero_and_counts_vectors() -> None:
    """Until warm_after vectors are learnt, Scores are cold, zero, and say how far along."""
    rng = np.random.default_rng(2)
    bank = JointBank(ON)
    assert bank.warm_after == 100 + 100 + 32
    for i in range(bank.warm_after):
        [s] = bank.update(normal(rng, 15.0 * i))
        assert not s.warm and s.score == 0.0 and s.detectors == ()
    assert s.why.endswith(f"warming up ({bank.warm_after}/{bank.warm_after} vectors)")
    [s] = bank.update(normal(rng, 15.0 * bank.warm_after))
    assert s.warm


def test_incomplete_vectors_are_skipped_and_counted() -> None:
    """A workload missing a metric, or with a NaN one, gets no Score and teaches nothing."""
    rng = np.random.default_rng(3)
    bank = JointBank(ON)
    [first] = bank.update(normal(rng, 0.0))
    assert bank.update(normal(rng, 15.0)[:2]) == []
    gap = normal(rng, 30.0)
    gap[1] = Sample(key=gap[1].key, t=30.0, value=float("nan"))
    assert bank.update(gap) == []
    assert bank.incomplete == 2
    [s] = bank.update(normal(rng, 45.0))
    assert first.why.endswith("(1/232 vectors)") and s.why.endswith("(2/232 vectors)")


def test_other_metrics_and_label_sets_are_not_workloads() -> None:
    """Series of other metrics are ignored: no Score, not counted as incomplete."""
    bank = JointBank(ON)
    other = Sample(key=SeriesKey.of("request_rate", workload="checkout"), t=0.0, value=3.0)
    host = Sample(key=SeriesKey.of("load1", host="a"), t=0.0, value=1.0)
    assert bank.update([other, host]) == [] and bank.incomplete == 0 and len(bank) == 0


def test_latest_sample_of_a_series_is_used() -> None:
    """Two samples of one series in a call: the later one forms the vector."""
    bank = JointBank(DetectConfig.model_validate(
        {"joint": {"enabled": True, "warmup": 2, "window_size": 10}}))
    early = vector(0.0, 0.5, 400.0, float("nan"))
    late = vector(15.0, 0.5, 400.0, 0.25)
    [s] = bank.update(early + late)
    assert s.t == 15.0 and bank.incomplete == 0


def test_disabled_by_default_gives_no_scores() -> None:
    """With the default config the joint bank returns nothing and keeps nothing."""
    rng = np.random.default_rng(4)
    bank = JointBank(DetectConfig())
    assert not bank.enabled
    assert all(bank.update(normal(rng, 15.0 * i)) == [] for i in range(20))
    assert len(bank) == 0 and bank.incomplete == 0


def test_max_workloads_caps_memory_and_counts_the_rest() -> None:
    """Beyond max_workloads, new workloads are ignored and counted each cycle."""
    cfg = DetectConfig.model_validate({"joint": {"enabled": True, "max_workloads": 2}})
    rng = np.random.default_rng(5)
    bank = JointBank(cfg)
    for i in range(3):
        cycle = [s for w in ("a", "b", "c") for s in normal(rng, 15.0 * i, workload=w)]
        out = bank.update(cycle)
        assert sorted(s.key.label("workload") for s in out) == ["a", "b"]
    assert len(bank) == 2 and bank.overflow == 3


def test_lasting_joint_change_is_flagged_then_adopted() -> None:
    """A held joint change stays >= 0.9 for most of adopt_after cycles, then becomes normal."""
    rng = np.random.default_rng(0)
    bank = JointBank(ON)
    start = bank.warm_after + 100
    for i in range(start):
        bank.update(normal(rng, 15.0 * i))
    scores = []
    for k in range(ON.adopt_after + 60):
        cpu, mem, lat = (v * (1 + 0.01 * rng.normal()) for v in JOINT_OUTLIER)
        [s] = bank.update(vector(15.0 * (start + k), cpu, mem, lat))
        scores.append(s.score)
    held = scores[: ON.adopt_after]
    assert sum(sc >= 0.9 for sc in held) >= 0.8 * len(held)
    assert max(scores[-20:]) < 0.9
