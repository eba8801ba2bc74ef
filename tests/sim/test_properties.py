"""Property tests: any sequence of actions keeps the world sane and restorable."""

from __future__ import annotations

import json
import math
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiops.model import Action, OutcomeStatus
from aiops.sim import WORKLOADS, World
from tests.sim.helpers import at, target

KINDS = ("scale", "restart", "rollback", "delete_pod")

steps = st.lists(
    st.tuples(
        st.sampled_from(KINDS),
        st.sampled_from(sorted(WORKLOADS)),
        st.integers(min_value=0, max_value=12),
        st.floats(min_value=0.0, max_value=6.0),
        st.booleans(),
    ),
    min_size=1,
    max_size=8,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(plan=steps)
def test_random_actions_keep_metrics_sane_and_state_restorable(
    world_at: Callable[[int], World], plan: list[tuple[str, str, int, float, bool]]
) -> None:
    """Under random actions every sample is finite and in range, and a restore continues alike."""
    world = world_at(44)
    now = at(44)
    for i, (kind, name, replicas, wait, dry) in enumerate(plan):
        now += wait * 60.0
        params = {"replicas": replicas} if kind == "scale" else {}
        act = Action(id=f"a{i}", kind=kind, target=target(name), params=params, dry_run=dry)
        out = world.apply(act, now)
        assert out.status in (OutcomeStatus.DONE, OutcomeStatus.DRY_RUN, OutcomeStatus.FAILED)
        for s in world.samples(now):
            assert math.isfinite(s.value) and s.value >= 0.0, s
            if s.key.metric == "error_rate":
                assert s.value <= 1.0
        for n in WORKLOADS:
            state = world.observe(target(n), now)
            assert 0 <= state.ready_replicas <= len(state.details["pods"])
            if not state.rollout_in_progress:
                assert len(state.details["pods"]) == state.replicas
    copy = World.from_state(json.loads(json.dumps(world.to_state())), trace=world.trace)
    assert copy.samples(now + 600.0) == world.samples(now + 600.0)
