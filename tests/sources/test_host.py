"""The host source reads this machine through psutil."""

from __future__ import annotations

from aiops.sources.base import Source
from aiops.sources.host import HostSource


def test_host_source_reports_plausible_values() -> None:
    """CPU is within the machine's cores and memory used is positive and below total."""
    import psutil

    src = HostSource(hostname="box")
    assert isinstance(src, Source)
    samples = {s.key.metric: s for s in src.pull(1000.0)}
    assert set(samples) == {"cpu_usage", "memory_usage", "swap_usage", "load1"}
    assert 0.0 <= samples["cpu_usage"].value <= (psutil.cpu_count() or 1)
    assert 0 < samples["memory_usage"].value < psutil.virtual_memory().total
    assert samples["cpu_usage"].key.label("workload") == "box"
    assert all(s.t == 1000.0 for s in samples.values())
