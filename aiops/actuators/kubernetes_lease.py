"""Leader election on a coordination.k8s.io/v1 Lease, the way client-go does it.

Only the leader acts; standbys score and wait. ``try_acquire_or_renew(now)`` is called
every ``renew_period``: it creates the Lease if missing, renews it when held, and takes
it over when its holder has not renewed for ``lease_duration`` *as observed locally*
(the time this process last saw the record change, so clocks need not agree). Every
write carries the ``resourceVersion`` it read, so two candidates can never both win.

A leader that cannot renew steps down after ``lease_duration - renew_period`` (the
renew deadline), strictly before any standby may take over: never two leaders at once.
``release()`` hands the lease back on graceful shutdown so a standby takes over at once.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiops.actuators.kubernetes_api import Call, KubeApi
from aiops.config.actuators import KubernetesConfig, LeaderElectionConfig
from aiops.errors import PermanentError, TemporaryError


def micro_time(now: float) -> str:
    """Kubernetes MicroTime (RFC 3339, microseconds, UTC).

    >>> micro_time(1.5)
    '1970-01-01T00:00:01.500000Z'
    """
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, kw_only=True, slots=True)
class LeaseRecord:
    """What the Lease says: who holds it, since when, and how often it changed hands."""

    holder: str
    renew_time: str
    acquire_time: str
    duration: int
    transitions: int
    resource_version: str

    @classmethod
    def of(cls, lease: dict[str, Any]) -> LeaseRecord:
        spec = lease.get("spec") or {}
        return cls(
            holder=str(spec.get("holderIdentity") or ""),
            renew_time=str(spec.get("renewTime") or ""),
            acquire_time=str(spec.get("acquireTime") or ""),
            duration=int(spec.get("leaseDurationSeconds") or 0),
            transitions=int(spec.get("leaseTransitions") or 0),
            resource_version=str(lease.get("metadata", {}).get("resourceVersion", "")),
        )


class LeaderElector:
    """One candidate for the leadership Lease named in ``election``."""

    def __init__(
        self,
        election: LeaderElectionConfig,
        kube: KubernetesConfig,
        *,
        identity: str | None = None,
    ) -> None:
        self.cfg = election
        self.identity = identity or election.identity or socket.gethostname()
        self.api = KubeApi(kube)
        self.duration = max(1, round(election.lease_duration))
        self.renew_deadline = max(0.0, election.lease_duration - election.renew_period)
        self._observed: LeaseRecord | None = None
        self._observed_at = 0.0
        self._renewed_at: float | None = None

    def _call(self, verb: str) -> Call:
        return Call(
            verb=verb,
            group="coordination.k8s.io",
            resource="leases",
            namespace=self.cfg.namespace,
            name=self.cfg.name,
        )

    def is_leader(self, now: float) -> bool:
        """True while the last successful renewal is within the renew deadline."""
        return self._renewed_at is not None and now - self._renewed_at < self.renew_deadline

    def try_acquire_or_renew(self, now: float) -> bool:
        """Acquire, renew or observe the Lease; True when this candidate leads."""
        try:
            return self._attempt(now)
        except TemporaryError:
            return self.is_leader(now)

    def _spec(self, now: float, acquire: str, transitions: int) -> dict[str, Any]:
        return {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": self.duration,
            "acquireTime": acquire,
            "renewTime": micro_time(now),
            "leaseTransitions": transitions,
        }

    def _attempt(self, now: float) -> bool:
        ns, name = self.cfg.namespace, self.cfg.name
        coord = self.api.coordination
        try:
            lease = self.api.do(self._call("get"), coord.read_namespaced_lease, name, ns)
        except PermanentError as e:
            if not str(e).startswith("not found"):
                raise
            # The typed client re-serialises MicroTime through datetime.isoformat(), which
            # drops the fraction the API server requires; times therefore go in a patch.
            spec = self._spec(now, micro_time(now), 0)
            keys = ("holderIdentity", "leaseDurationSeconds", "leaseTransitions")
            body = {
                "metadata": {"name": name, "namespace": ns},
                "spec": {k: spec[k] for k in keys},
            }
            try:
                created = self.api.do(self._call("create"), coord.create_namespaced_lease, ns, body)
            except TemporaryError:  # someone else created it first (409)
                self._renewed_at = None
                return False
            self._patch(created, spec)
            self._renewed_at = now
            return True
        record = LeaseRecord.of(lease)
        if record != self._observed:
            self._observed, self._observed_at = record, now
        mine = record.holder == self.identity
        held = bool(record.holder) and not mine
        expiry = record.duration or self.duration
        if held and now < self._observed_at + expiry:
            self._renewed_at = None
            return False
        if not mine and self.is_leader(now):  # lost it behind our back
            self._renewed_at = None
        acquire = record.acquire_time if mine else micro_time(now)
        transitions = record.transitions if mine else record.transitions + 1
        try:
            self._patch(lease, self._spec(now, acquire, transitions))
        except TemporaryError as e:
            if "conflict" in str(e):
                self._renewed_at = None
                return False
            raise
        self._renewed_at = now
        self._observed = None
        return True

    def release(self, now: float | None = None) -> None:
        """Give the Lease up (empty holder) if this candidate holds it."""
        if self._renewed_at is None:
            return
        stamp = micro_time(now if now is not None else self._renewed_at)
        ns, name = self.cfg.namespace, self.cfg.name
        coord = self.api.coordination
        self._renewed_at = None
        try:
            lease = self.api.do(self._call("get"), coord.read_namespaced_lease, name, ns)
            if LeaseRecord.of(lease).holder != self.identity:
                return
            spec = {"holderIdentity": "", "leaseDurationSeconds": 1}
            self._patch(lease, {**spec, "renewTime": stamp, "acquireTime": stamp})
        except (TemporaryError, PermanentError):
            return  # the lease simply expires

    def _patch(self, lease: dict[str, Any], spec: dict[str, Any]) -> None:
        """Merge-patch the spec, locked to the resourceVersion read (409 if it moved)."""
        body = {"metadata": {"resourceVersion": lease["metadata"]["resourceVersion"]}, "spec": spec}
        self.api.do(
            self._call("patch"),
            self.api.coordination.patch_namespaced_lease,
            self.cfg.name,
            self.cfg.namespace,
            body,
            _content_type="application/merge-patch+json",
        )

    def close(self) -> None:
        self.api.close()
