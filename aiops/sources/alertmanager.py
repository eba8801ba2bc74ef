"""Parse and validate an Alertmanager v4 webhook body into :class:`~aiops.model.Alert` values.

Validation is strict where it matters (types are not coerced, ``status`` is ``firing``
or ``resolved``, timestamps are RFC 3339, labels and annotations are string maps) and
lenient where Alertmanager may grow (unknown fields are ignored). Every error names the
offending field, e.g. ``alerts[0].startsAt: Field required``.

>>> body = b'''{"version": "4", "status": "firing", "receiver": "aiops", "alerts": [
...   {"status": "firing", "labels": {"alertname": "Down"}, "annotations": {},
...    "startsAt": "2026-11-27T11:33:00.002Z", "endsAt": "0001-01-01T00:00:00Z",
...    "fingerprint": "84280e2050557c51"}]}'''
>>> [a.name for a in parse_webhook(body, now=0.0).alerts]
['Down']
>>> parse_webhook(b'{"version": "4", "alerts": [{"status": 1}]}', now=0.0)
Traceback (most recent call last):
...
aiops.sources.alertmanager.WebhookError: alerts[0].status: Input should be 'firing' or 'resolved'
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from aiops.errors import PermanentError
from aiops.model import Alert

Text = Annotated[str, StringConstraints(strict=True)]
NonEmpty = Annotated[str, StringConstraints(strict=True, min_length=1)]


class WebhookError(PermanentError):
    """A webhook body that is not valid JSON or not a v4 payload; names the field."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        self.reason = message
        super().__init__(f"{field}: {message}" if field else message)


_RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")


def _rfc3339(value: str) -> str:
    ok = _RFC3339.fullmatch(value) is not None
    if ok:
        try:
            datetime.fromisoformat(value)
        except ValueError:
            ok = False
    if not ok:
        raise ValueError(f"not an RFC 3339 timestamp: {value[:40]!r}")
    return value


class AlertV4(BaseModel):
    """One alert of a v4 payload."""

    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)

    status: Literal["firing", "resolved"]
    labels: dict[Text, Text]
    annotations: dict[Text, Text] = Field(default_factory=dict)
    startsAt: NonEmpty
    endsAt: Text = ""
    generatorURL: Text = ""
    fingerprint: NonEmpty

    @field_validator("startsAt")
    @classmethod
    def _starts(cls, v: str) -> str:
        return _rfc3339(v)

    @field_validator("endsAt")
    @classmethod
    def _ends(cls, v: str) -> str:
        return _rfc3339(v) if v else v


class WebhookV4(BaseModel):
    """The whole v4 webhook body (``version`` must be ``"4"``)."""

    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)

    version: Literal["4"]
    status: Literal["firing", "resolved"] = "firing"
    receiver: Text = ""
    groupKey: Text = ""
    truncatedAlerts: int = Field(0, ge=0)
    alerts: list[AlertV4] = Field(max_length=100_000)


@dataclass(frozen=True, kw_only=True, slots=True)
class Webhook:
    """A validated webhook: its alerts, and how many Alertmanager left out."""

    receiver: str
    group_key: str
    alerts: tuple[Alert, ...]
    truncated: int = 0


def _field(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("function-after", "str", "int") or "[" in str(part):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out


def parse_webhook(body: bytes, *, now: float) -> Webhook:
    """Validate ``body`` and return its alerts; ``now`` is each alert's ``t`` (receipt time).

    Raises :class:`WebhookError` naming the first offending field.
    """
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WebhookError(f"invalid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise WebhookError("expected a JSON object")
    try:
        hook = WebhookV4.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        msg = err["msg"].removeprefix("Value error, ")
        raise WebhookError(msg, field=_field(tuple(err["loc"])) or None) from None
    alerts = tuple(
        Alert(
            fingerprint=a.fingerprint,
            status=a.status,
            labels=dict(a.labels),
            annotations=dict(a.annotations),
            starts_at=a.startsAt,
            ends_at=a.endsAt,
            generator_url=a.generatorURL,
            t=now,
        )
        for a in hook.alerts
    )
    return Webhook(
        receiver=hook.receiver, group_key=hook.groupKey, alerts=alerts,
        truncated=hook.truncatedAlerts,
    )
