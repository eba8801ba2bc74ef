"""The sandbox: a deterministic simulated cluster driven by a real demand trace.

Five workloads in namespace ``shop`` (``frontend``, ``catalog``, ``checkout``, ``cart``,
``payments``), each addressed as ``Target(kind="SandboxWorkload", namespace="shop",
name=...)``. Demand follows the NYC taxi trace (30-minute points, linearly
interpolated): trace position = ``config.start`` + (now - world creation time).

Series, one per workload and metric, keyed
``SeriesKey(metric=..., labels=(("namespace", "shop"), ("workload", name)))``:

- ``cpu_usage``: CPU cores used, averaged over ready pods;
- ``memory_usage``: resident memory in bytes, averaged over ready pods;
- ``latency_p99``: 99th percentile response time in seconds (queueing-shaped in load);
- ``request_rate``: incoming requests per second;
- ``error_rate``: share of requests failing, 0..1 (shed load, crashes);
- ``ready_replicas``: pods ready to serve.

API (everything takes ``now``; nothing reads a clock or logs):

- ``World.create(config, *, now, trace=None)``; ``trace`` may be a :class:`Trace` or
  plain values at 30-minute steps from ``config.start``;
- ``world.advance(now)`` integrates in fixed sub-steps (``config.step``, 5 s);
- ``world.samples(now) -> list[Sample]`` advances first;
- ``world.apply(action, now) -> Outcome``: ``scale`` (``replicas``, absolute), ``restart``
  (rollout restart), ``rollback`` (to the previous revision; optional
  ``only_if_changed_within`` seconds; refused with ``FAILED`` when there is no previous
  revision or the last change already was a rollback), ``delete_pod`` (``pod``, default
  the least healthy; the ReplicaSet replaces it). Idempotent on ``action.id``
  (``ALREADY_DONE``); ``dry_run`` changes nothing and returns ``DRY_RUN``; an unknown
  target, kind or bad parameter raises :class:`aiops.errors.PermanentError`;
- ``world.observe(target, now) -> TargetState``; ``changed_at`` is the last revision
  change (rollout or rollback; a restart keeps the revision);
- ``world.faults``: the schedule (:class:`Fault`: name, kind, workload, start, end,
  healed_at, healed_by);
- ``world.to_state()`` / ``World.from_state(state)``: JSON-ready state; a restored world
  continues exactly as the original;
- :mod:`aiops.sim.store`: ``save_world``, ``load_state``, ``open_world``.

Faults (see :mod:`aiops.sim.faults`): memory leak on ``cart`` (``restart`` heals),
bad rollout on ``checkout`` (``rollback`` heals), traffic surge on ``frontend``
(``scale`` to enough replicas heals; it also passes after 35 minutes), crash loop on
``payments`` (``restart`` heals; ``delete_pod`` does not).
"""

from aiops.sim.faults import Fault, FaultKind
from aiops.sim.store import load_state, open_world, save_state, save_world
from aiops.sim.trace import Trace, load_trace, parse_trace_csv
from aiops.sim.workloads import METRICS, NAMESPACE, TARGET_KIND, WORKLOADS
from aiops.sim.world import World

__all__ = [
    "METRICS",
    "NAMESPACE",
    "TARGET_KIND",
    "WORKLOADS",
    "Fault",
    "FaultKind",
    "Trace",
    "World",
    "load_state",
    "load_trace",
    "open_world",
    "parse_trace_csv",
    "save_state",
    "save_world",
]
