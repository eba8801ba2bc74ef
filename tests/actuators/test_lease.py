"""Leader election on a Lease in the fake API server: acquire, renew, take over, never two."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from aiops.actuators.kubernetes_lease import LeaderElector
from aiops.config.actuators import KubernetesConfig, LeaderElectionConfig
from tests.fakekube.plugin import deployment, fakekube
from tests.fakekube.server import FakeKube, Fault
from tests.realservers import daemons

__all__ = ["fakekube"]

ROOT = Path(__file__).resolve().parents[2]


def _pair(server: FakeKube, duration: float = 15, renew: float = 5) -> list[LeaderElector]:
    election = LeaderElectionConfig(
        enabled=True,
        namespace="ops",
        name="aiops-leader",
        lease_duration=duration,
        renew_period=renew,
    )
    kube = KubernetesConfig(host=server.url)
    return [LeaderElector(election, kube, identity=i) for i in ("a", "b")]


def test_first_candidate_acquires_and_second_waits(fakekube: FakeKube) -> None:
    """The first candidate creates the Lease and leads; the second stays standby."""
    a, b = _pair(fakekube)
    assert a.try_acquire_or_renew(1000.0) is True
    assert b.try_acquire_or_renew(1000.0) is False
    spec = fakekube.get("leases", "ops", "aiops-leader")["spec"]
    assert spec["holderIdentity"] == "a"
    assert spec["leaseDurationSeconds"] == 15
    assert spec["leaseTransitions"] == 0
    assert spec["renewTime"] == "1970-01-01T00:16:40.000000Z"


def test_standby_takes_over_after_lease_expires(fakekube: FakeKube) -> None:
    """When the leader stops renewing, the standby leads within the lease duration,
    and at no instant do both consider themselves leader."""
    a, b = _pair(fakekube)
    leaders: dict[float, list[str]] = {}
    t = 0.0
    took_over = None
    while t <= 40:
        if t <= 10 and t % 5 == 0:  # a renews every 5 s until t=10, then goes silent
            a.try_acquire_or_renew(t)
        if t % 1 == 0 and b.try_acquire_or_renew(t) and took_over is None:
            took_over = t
        leaders[t] = [e.identity for e in (a, b) if e.is_leader(t)]
        t += 0.5
    assert all(len(v) <= 1 for v in leaders.values())
    assert took_over is not None and 10 < took_over <= 10 + 15
    spec = fakekube.get("leases", "ops", "aiops-leader")["spec"]
    assert (spec["holderIdentity"], spec["leaseTransitions"]) == ("b", 1)
    assert a.try_acquire_or_renew(41.0) is False


def test_renewals_keep_leadership(fakekube: FakeKube) -> None:
    """A leader renewing on time keeps the Lease; acquireTime stays, renewTime moves."""
    a, b = _pair(fakekube)
    for t in range(0, 60, 5):
        assert a.try_acquire_or_renew(float(t)) is True
        assert b.try_acquire_or_renew(float(t) + 1) is False
    spec = fakekube.get("leases", "ops", "aiops-leader")["spec"]
    assert spec["acquireTime"] == "1970-01-01T00:00:00.000000Z"
    assert spec["renewTime"] == "1970-01-01T00:00:55.000000Z"


def test_release_hands_over_at_once(fakekube: FakeKube) -> None:
    """After release(), a standby acquires on its next try without waiting for expiry."""
    a, b = _pair(fakekube)
    a.try_acquire_or_renew(0.0)
    b.try_acquire_or_renew(1.0)
    a.release(2.0)
    assert a.is_leader(2.0) is False
    assert b.try_acquire_or_renew(3.0) is True


def test_renew_failure_steps_down_before_takeover(fakekube: FakeKube) -> None:
    """A leader whose renewals fail stops leading after the renew deadline (10 s of 15 s)."""
    a, _ = _pair(fakekube)
    a.try_acquire_or_renew(0.0)
    fakekube.inject(Fault(path="/leases/", status=503, count=100))
    assert a.try_acquire_or_renew(5.0) is True
    assert a.try_acquire_or_renew(9.9) is True
    assert a.try_acquire_or_renew(10.0) is False


def test_simultaneous_candidates_never_both_win(fakekube: FakeKube) -> None:
    """Candidates racing for a free Lease: resourceVersion preconditions let exactly one win."""
    election = LeaderElectionConfig(namespace="ops", name="race", lease_duration=15, renew_period=5)
    kube = KubernetesConfig(host=fakekube.url)
    electors = [LeaderElector(election, kube, identity=f"c{i}") for i in range(4)]
    for round_ in range(5):
        now = 100.0 * (round_ + 1)
        if round_:
            leader = fakekube.get("leases", "ops", "race")
            leader["spec"]["holderIdentity"] = ""
            fakekube.update("leases", leader)
        barrier = threading.Barrier(len(electors))
        results: dict[str, bool] = {}

        def run(
            e: LeaderElector, now: float, barrier: threading.Barrier, results: dict[str, bool]
        ) -> None:
            barrier.wait()
            results[e.identity] = e.try_acquire_or_renew(now)

        threads = [threading.Thread(target=run, args=(e, now, barrier, results)) for e in electors]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert sum(results.values()) == 1, results
        holder = fakekube.get("leases", "ops", "race")["spec"]["holderIdentity"]
        assert results[holder] is True


DAEMON = """
import sys, time
from aiops.actuators.kubernetes import KubernetesActuator
from aiops.actuators.kubernetes_lease import LeaderElector
from aiops.config.actuators import KubernetesConfig, LeaderElectionConfig
from aiops.model import Action, Target
url, me = sys.argv[1], sys.argv[2]
kube = KubernetesConfig(host=url)
elector = LeaderElector(LeaderElectionConfig(namespace="ops", lease_duration=2,
                        renew_period=0.5), kube, identity=me)
act = KubernetesActuator(kube)
action = Action(id="heal-1", kind="restart", incident="inc-1",
                target=Target(kind="Deployment", namespace="shop", name="web"))
while True:
    t0 = time.time()
    if elector.try_acquire_or_renew(t0):
        t1 = time.time()
        out = act.apply(action, now=t1)
        print(f"LEADER {me} {t0:.3f} {t1:.3f} {out.status}", flush=True)
    else:
        print(f"STANDBY {me} {time.time():.3f}", flush=True)
    time.sleep(0.25)
"""


@pytest.mark.slow
def test_two_daemon_processes_fail_over(fakekube: FakeKube, tmp_path: Path) -> None:
    """Kill the leading process: the standby leads within the lease duration, and the
    remediation it repeats is recognised as already done (one restart in total)."""
    fakekube.create("deployments", deployment("web"))
    script = tmp_path / "daemon.py"
    script.write_text(DAEMON)
    outs = {n: (tmp_path / f"{n}.out").open("w") for n in ("a", "b")}
    procs = {}
    try:
        procs["a"] = daemons.spawn(
            [sys.executable, str(script), fakekube.url, "a"],
            stdout=outs["a"],
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        deadline = time.monotonic() + 30
        while "LEADER a" not in (tmp_path / "a.out").read_text():
            assert procs["a"].poll() is None, (tmp_path / "a.out").read_text()
            assert time.monotonic() < deadline, "a never led"
            time.sleep(0.05)
        procs["b"] = daemons.spawn(
            [sys.executable, str(script), fakekube.url, "b"],
            stdout=outs["b"],
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        while "STANDBY b" not in (tmp_path / "b.out").read_text():  # b is up and watching
            assert procs["b"].poll() is None, (tmp_path / "b.out").read_text()
            assert time.monotonic() < deadline, "b never started"
            time.sleep(0.05)
        assert "LEADER" not in (tmp_path / "b.out").read_text()
        procs["a"].kill()
        procs["a"].wait()
        killed = time.time()
        deadline = time.monotonic() + 30
        while "LEADER b" not in (tmp_path / "b.out").read_text():
            assert procs["b"].poll() is None, (tmp_path / "b.out").read_text()
            assert time.monotonic() < deadline, "b never took over"
            time.sleep(0.05)
        first_b = next(
            line
            for line in (tmp_path / "b.out").read_text().splitlines()
            if line.startswith("LEADER b")
        )
        a_lines = [
            x for x in (tmp_path / "a.out").read_text().splitlines() if x.startswith("LEADER")
        ]
        # Never two leaders: every renewal a committed precedes b's first (the server's
        # write log); the lease duration b waits is pinned with a simulated clock above.
        holders = [
            w.body["spec"]["holderIdentity"] for w in fakekube.writes(r"/leases/")
            if w.status < 300 and isinstance(w.body, dict)
            and w.body.get("spec", {}).get("holderIdentity")
        ]
        assert "a" in holders and "b" in holders
        assert "a" not in holders[holders.index("b"):], holders
        assert float(first_b.split()[3]) > killed
        assert first_b.endswith("already-done")
        a_lines = [
            x for x in (tmp_path / "a.out").read_text().splitlines() if x.startswith("LEADER")
        ]
        assert a_lines[0].endswith("done")
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
        for f in outs.values():
            f.close()
    revisions = {
        rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
        for rs in fakekube.list("replicasets", "shop")
    }
    assert revisions == {"1", "2"}
    lease = fakekube.get("leases", "ops", "aiops-leader")["spec"]
    assert (lease["holderIdentity"], lease["leaseTransitions"]) == ("b", 1)
