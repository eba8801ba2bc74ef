"""`aiops bench quiet`: anomaly-free noise families, streamed as NAB files are."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import numpy.typing as npt
import pytest

from aiops.bench.quiet import FAMILIES, run
from aiops.config.detect import DetectConfig


def test_light_tailed_noise_never_reaches_the_threshold() -> None:
    """Gaussian, AR(1) and Poisson noise stay below the daemon's threshold throughout."""
    rows = run(DetectConfig(), seeds=3, points=1500, families=("gaussian", "ar1_0.9", "poisson3"))
    assert [r.family for r in rows] == ["gaussian", "ar1_0.9", "poisson3"]
    for r in rows:
        assert r.series == 3 and r.reaching == 0, r
        assert 0.0 < r.median_max < r.threshold


def test_a_spiked_family_would_be_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The count is not blind: a family with a planted 40-sigma spike reaches the threshold."""
    def spiked(rng: np.random.Generator, n: int) -> npt.NDArray[np.float64]:
        v = FAMILIES["gaussian"](rng, n)
        v[n - 100] += 40.0
        return v

    monkeypatch.setitem(FAMILIES, "spiked_test", spiked)
    (row,) = run(DetectConfig(), seeds=2, points=1500, families=("spiked_test",))
    assert row.reaching == 2 and row.median_max >= row.threshold


def test_unknown_family_is_refused_with_the_known_ones() -> None:
    """Asking for a family that does not exist names the ones that do."""
    with pytest.raises(ValueError, match=r"lognormal_1\.0"):
        run(DetectConfig(), seeds=1, points=100, families=("cauchy",))


def test_the_command_prints_a_table_and_a_verdict() -> None:
    """`aiops bench quiet` runs as a process and ends with how many series reached 0.9."""
    out = subprocess.run(
        [sys.executable, "-m", "aiops", "bench", "quiet", "--seeds", "2", "--points", "800"],
        capture_output=True, text=True, timeout=300, check=True,
    ).stdout
    assert "lognormal_1.0" in out and "x gaussian" in out
    assert "of 14 anomaly-free series reach the threshold 0.9" in out
