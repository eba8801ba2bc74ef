"""Runbook steps: the actions of a ladder, their parameters, verification and control.

>>> ScaleWith.model_validate({"delta": "+2", "max": 8}).delta
2
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from aiops.config.durations import Duration
from aiops.runbook.base import Strict
from aiops.runbook.secrets import HeaderValue
from aiops.runbook.templating import check_template

OnChoice = Literal["next", "stop", "escalate"]
MUTATING = frozenset({"scale", "restart", "rollback", "delete_pod"})


class Verify(Strict):
    """Check a metric of the target after the step: ``below`` or ``above`` within a time."""

    metric: str = Field(min_length=1)
    below: float | None = None
    above: float | None = None
    within: Duration = Field(300.0, gt=0, description="How long the condition may take.")
    on_no_data: Literal["fail", "pass", "inconclusive"] = Field(
        "inconclusive", description="Verdict when the metric has no data by the deadline."
    )

    @model_validator(mode="after")
    def _one_bound(self) -> Verify:
        if (self.below is None) == (self.above is None):
            raise ValueError("verify needs exactly one of below, above")
        return self


class OnOutcome(Strict):
    """Where the ladder goes when a step fails or its verification is inconclusive."""

    failure: OnChoice = "next"
    inconclusive: OnChoice = "escalate"


#: Steps safe to re-run when a crash left their outcome unknown, unless the runbook says
#: otherwise: a wait changes nothing, a notification carries an Idempotency-Key header.
IDEMPOTENT_BY_DEFAULT = frozenset({"wait", "notify", "webhook"})


class StepBase(Strict):
    """Fields every step has."""

    name: str | None = Field(None, description="Label shown in timelines.")
    verify: Verify | None = None
    retry: int = Field(
        3, ge=0, le=20,
        description="Retries after a temporary error (scheduled by the engine, never a sleep).",
    )
    timeout: Duration | None = Field(None, gt=0, description="Give up after this long.")
    on: OnOutcome = Field(default_factory=OnOutcome)
    idempotent: bool | None = Field(
        None,
        description="Safe to run twice: re-run when a crash left the outcome unknown and the "
        "actuator cannot read the world back. Default: true for wait/notify/webhook, false "
        "for command; Kubernetes, systemd and sandbox steps are reconciled by reading back.",
    )


def _delta(v: Any) -> Any:
    if isinstance(v, str) and re.fullmatch(r"\s*[+-]?\d+\s*", v):
        return int(v)
    return v


class ScaleWith(Strict):
    """``replicas`` (absolute) or ``delta`` (relative), clamped to ``min``..``max``."""

    replicas: int | str | None = Field(
        None, description="Absolute count, or a template such as '{{ desired_replicas }}'."
    )
    delta: Annotated[int | None, Field(description="e.g. '+2' or -1")] = None
    min: int = Field(1, ge=0)
    max: int | None = Field(None, ge=1)
    via_hpa: bool = Field(False, description="Raise the HPA's minReplicas instead.")

    @field_validator("delta", mode="before")
    @classmethod
    def _parse_delta(cls, v: Any) -> Any:
        return _delta(v)

    @field_validator("replicas")
    @classmethod
    def _replicas(cls, v: int | str | None) -> int | str | None:
        if isinstance(v, int) and v < 0:
            raise ValueError("replicas must be >= 0")
        if isinstance(v, str):
            if v.strip().isdigit():
                return int(v)
            check_template(v)
        return v

    @model_validator(mode="after")
    def _one(self) -> ScaleWith:
        if (self.replicas is None) == (self.delta is None):
            raise ValueError("scale needs exactly one of replicas, delta")
        if self.max is not None and self.max < self.min:
            raise ValueError("max must be >= min")
        return self


class ScaleStep(StepBase):
    action: Literal["scale"]
    with_: ScaleWith = Field(alias="with")


class Empty(Strict):
    """No parameters."""


class RestartStep(StepBase):
    action: Literal["restart"]
    with_: Empty = Field(default_factory=Empty, alias="with")


class RollbackWith(Strict):
    only_if_changed_within: Duration | None = Field(
        None, description="Only roll back if the target changed this recently."
    )


class RollbackStep(StepBase):
    action: Literal["rollback"]
    with_: RollbackWith = Field(default_factory=RollbackWith, alias="with")


class DeletePodWith(Strict):
    pod: str | None = Field(None, description="Pod name template; default the least healthy.")


class DeletePodStep(StepBase):
    action: Literal["delete_pod"]
    with_: DeletePodWith = Field(default_factory=DeletePodWith, alias="with")


class WaitWith(Strict):
    duration: Duration = Field(gt=0)


class WaitStep(StepBase):
    action: Literal["wait"]
    with_: WaitWith = Field(alias="with")


class NotifyWith(Strict):
    """POST a JSON body (templated strings) to ``url``."""

    url: str = Field(min_length=1, description="http(s) URL; templates allowed.")
    body: dict[str, Any] = Field(
        default_factory=dict, description="JSON body; string values are templates."
    )
    headers: dict[str, HeaderValue] = Field(
        default_factory=dict,
        description="Literal strings, or secret references ({secret_file: /abs/path} or "
        "{env: VAR}) resolved only when the step is applied.",
    )

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        check_template(v)
        if not re.match(r"^(https?://|\{\{)", v):
            raise ValueError("url must start with http:// or https://")
        return v


class NotifyStep(StepBase):
    action: Literal["notify", "webhook"]
    with_: NotifyWith = Field(alias="with")


class CommandWith(Strict):
    """Run ``argv`` (no shell); each element is a template."""

    argv: list[str] = Field(min_length=1)
    timeout: Duration = Field(30.0, gt=0)
    allow_leading_dash: bool = Field(
        False, description="Let templated elements render to values starting with '-'."
    )

    @field_validator("argv")
    @classmethod
    def _argv(cls, v: list[str]) -> list[str]:
        for a in v:
            check_template(a)
        return v


class CommandStep(StepBase):
    action: Literal["command"]
    with_: CommandWith = Field(alias="with")


Step = Annotated[
    ScaleStep | RestartStep | RollbackStep | DeletePodStep | WaitStep | NotifyStep | CommandStep,
    Field(discriminator="action"),
]
ACTIONS = ("scale", "restart", "rollback", "delete_pod", "wait", "notify", "webhook", "command")
