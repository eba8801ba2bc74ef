"""The simulated shop: what each workload is (static specs) and how it is addressed.

Every workload lives in namespace ``shop`` and is targeted as
``Target(kind="SandboxWorkload", namespace="shop", name=...)``. Its demand is
``base_rps * trace_level / trace_median`` requests per second, so at the trace's median
level ``frontend`` sees 180 req/s; each pod serves up to ``capacity_per_pod`` req/s.

>>> WORKLOADS["frontend"].replicas
6
>>> sorted(WORKLOADS)
['cart', 'catalog', 'checkout', 'frontend', 'payments']
"""

from __future__ import annotations

from dataclasses import dataclass

from aiops.model import SeriesKey, Target

NAMESPACE = "shop"
TARGET_KIND = "SandboxWorkload"
MIB = 1024.0 * 1024.0

#: Series each workload emits, in emission order.
METRICS = (
    "cpu_usage",
    "memory_usage",
    "latency_p99",
    "request_rate",
    "error_rate",
    "ready_replicas",
)


@dataclass(frozen=True, kw_only=True, slots=True)
class WorkloadSpec:
    """Static shape of one workload."""

    name: str
    base_rps: float
    capacity_per_pod: float
    replicas: int
    base_latency: float
    cpu_idle: float
    cpu_per_request: float
    memory_base: float
    memory_per_rps: float
    memory_limit: float
    error_floor: float
    image: str

    @property
    def target(self) -> Target:
        return Target(kind=TARGET_KIND, namespace=NAMESPACE, name=self.name)

    def key(self, metric: str) -> SeriesKey:
        """Series key of ``metric`` for this workload."""
        return SeriesKey(metric=metric, labels=(("namespace", NAMESPACE), ("workload", self.name)))


def _spec(name: str, **kw: float | int | str) -> WorkloadSpec:
    return WorkloadSpec(name=name, image=f"shop/{name}:1.0.0", **kw)  # type: ignore[arg-type]


WORKLOADS: dict[str, WorkloadSpec] = {
    s.name: s
    for s in (
        _spec("frontend", base_rps=180.0, capacity_per_pod=70.0, replicas=6, base_latency=0.12,
              cpu_idle=0.05, cpu_per_request=0.005, memory_base=160 * MIB, memory_per_rps=0.4 * MIB,
              memory_limit=512 * MIB, error_floor=0.002),
        _spec("catalog", base_rps=120.0, capacity_per_pod=60.0, replicas=4, base_latency=0.09,
              cpu_idle=0.04, cpu_per_request=0.004, memory_base=220 * MIB, memory_per_rps=0.3 * MIB,
              memory_limit=640 * MIB, error_floor=0.001),
        _spec("checkout", base_rps=40.0, capacity_per_pod=30.0, replicas=3, base_latency=0.25,
              cpu_idle=0.05, cpu_per_request=0.012, memory_base=256 * MIB, memory_per_rps=0.8 * MIB,
              memory_limit=768 * MIB, error_floor=0.003),
        _spec("cart", base_rps=90.0, capacity_per_pod=45.0, replicas=4, base_latency=0.06,
              cpu_idle=0.04, cpu_per_request=0.004, memory_base=300 * MIB, memory_per_rps=0.5 * MIB,
              memory_limit=1024 * MIB, error_floor=0.001),
        _spec("payments", base_rps=24.0, capacity_per_pod=16.0, replicas=4, base_latency=0.35,
              cpu_idle=0.06, cpu_per_request=0.02, memory_base=220 * MIB, memory_per_rps=1.0 * MIB,
              memory_limit=512 * MIB, error_floor=0.004),
    )
}
