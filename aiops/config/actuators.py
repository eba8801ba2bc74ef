"""Configuration of actuators: what changes the world, and how carefully."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from aiops.config.base import Section
from aiops.config.durations import Duration


class LeaderElectionConfig(Section):
    """High availability: only the holder of a coordination.k8s.io/v1 Lease acts."""

    enabled: bool = Field(False, description="Elect a leader on a Lease before acting.")
    namespace: str = Field("aiops", description="Namespace of the Lease (the daemon's own).")
    name: str = Field("aiops-leader", description="Name of the Lease object.")
    identity: str | None = Field(
        None, description="This replica's holderIdentity (default: hostname, i.e. the pod name)."
    )
    lease_duration: Duration = Field(
        15.0, description="How long a lease stays valid unrenewed; a standby takes over after."
    )
    renew_period: Duration = Field(
        5.0, description="How often the leader renews; must be well under lease_duration."
    )

    @model_validator(mode="after")
    def _renew_within_lease(self) -> LeaderElectionConfig:
        if self.renew_period >= self.lease_duration:
            raise ValueError("renew_period must be shorter than lease_duration")
        return self


class KubernetesConfig(Section):
    """The Kubernetes API, reached with the official client."""

    in_cluster: bool = Field(False, description="Use the pod's service account.")
    kubeconfig: str | None = Field(None, description="kubeconfig path (default: ~/.kube/config).")
    context: str | None = Field(None, description="kubeconfig context to use.")
    host: str | None = Field(None, description="API server URL, overriding kubeconfig (tests).")
    scale_via_hpa: bool = Field(
        True, description="When an HPA targets the workload, scale by raising its minReplicas."
    )
    request_timeout: Duration = Field(10.0, description="Per-request timeout.")
    retries: int = Field(
        5, ge=0, description="Ignored (kept so old configs load): the actuator makes one attempt "
        "per call and the engine schedules retries (each step's `retry`).")
    events: bool = Field(True, description="Emit a Kubernetes Event for every action.")
    hpa_raise_max: bool = Field(
        False,
        description="When scaling via an HPA above its maxReplicas, raise maxReplicas too "
        "(default: clamp minReplicas to maxReplicas and say so in the outcome).",
    )
    backoff: Duration = Field(
        0.5, description="Retry hint (retry_after) for a temporary failure without Retry-After.")
    max_backoff: Duration = Field(
        30.0, description="Longest single retry delay, also the cap on a server's Retry-After."
    )
    field_manager: str = Field("aiops", description="fieldManager recorded on every write.")
    leader_election: LeaderElectionConfig = Field(default_factory=LeaderElectionConfig)


class SystemdConfig(Section):
    """systemd units driven through systemctl (argv, never a shell)."""

    allow_units: list[str] = Field(
        default_factory=list, description="Units (glob patterns) aiops may touch; empty = none."
    )
    systemctl: str = Field("systemctl", description="systemctl binary.")
    timeout: Duration = Field(60.0, description="Timeout of one systemctl call.")


class WorldConfig(Section):
    """A world server (`aiops world-server`): the sandbox served over HTTP, the one world
    Prometheus scrapes and the daemon acts on. The daemon's clock follows the world's."""

    url: str = Field("http://127.0.0.1:9470", description="Base URL of the world server.")
    timeout: Duration = Field(5.0, gt=0, description="Per-request timeout.")
    token_file: str | None = Field(
        None, description="File holding the world server's bearer token (if it needs one)."
    )


class ActuatorConfig(Section):
    """How actions reach workloads."""

    type: Literal["sandbox", "kubernetes", "systemd", "record", "world"] = Field(
        "sandbox", description="Which actuator applies actions ('record' only records them; "
        "'world' acts on a world server and follows its clock)."
    )
    kubernetes: KubernetesConfig = Field(default_factory=KubernetesConfig)
    systemd: SystemdConfig = Field(default_factory=SystemdConfig)
    world: WorldConfig = Field(default_factory=WorldConfig)
