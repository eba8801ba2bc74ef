"""Configuration of actuators: what changes the world, and how carefully."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from aiops.config.base import Section
from aiops.config.durations import Duration


class KubernetesConfig(Section):
    """The Kubernetes API, reached with the official client."""

    in_cluster: bool = Field(False, description="Use the pod's service account.")
    kubeconfig: str | None = Field(None, description="Path to a kubeconfig (default: ~/.kube/config).")
    context: str | None = Field(None, description="kubeconfig context to use.")
    host: str | None = Field(None, description="API server URL, overriding kubeconfig (tests).")
    scale_via_hpa: bool = Field(
        True, description="When an HPA targets the workload, scale by raising its minReplicas."
    )
    request_timeout: Duration = Field(10.0, description="Per-request timeout.")
    retries: int = Field(5, ge=0, description="Retries on 409/429/5xx before giving up.")
    events: bool = Field(True, description="Emit a Kubernetes Event for every action.")


class SystemdConfig(Section):
    """systemd units driven through systemctl (argv, never a shell)."""

    allow_units: list[str] = Field(
        default_factory=list, description="Units (glob patterns) aiops may touch; empty = none."
    )
    systemctl: str = Field("systemctl", description="systemctl binary.")
    timeout: Duration = Field(60.0, description="Timeout of one systemctl call.")


class ActuatorConfig(Section):
    """How actions reach workloads."""

    type: Literal["sandbox", "kubernetes", "systemd", "record"] = Field(
        "sandbox", description="Which actuator applies actions ('record' only records them)."
    )
    kubernetes: KubernetesConfig = Field(default_factory=KubernetesConfig)
    systemd: SystemdConfig = Field(default_factory=SystemdConfig)
