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


#: Defaults of ``http.limits``: the longest label value, and labels + annotations of an alert.
MAX_LABEL_VALUE_BYTES = 4096
MAX_ALERT_BYTES = 65_536


def parse_webhook(body: bytes, *, now: float) -> Webhook:
    """Validate ``body`` and return its alerts; ``now`` is each alert's ``t`` (receipt time).

    Raises :class:`WebhookError` naming the first offending field. (The HTTP route decodes
    the body with its own bounds and calls :func:`webhook_from_json`.)
    """
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, ValueError) as exc:
        raise WebhookError(f"invalid JSON: {str(exc)[:200]}") from None
    return webhook_from_json(data, now=now)


def webhook_from_json(
    data: object, *, now: float, max_label_value_bytes: int = MAX_LABEL_VALUE_BYTES,
    max_alert_bytes: int = MAX_ALERT_BYTES,
) -> Webhook:
    """Validate decoded JSON as a v4 payload, with caps on label values and alert size.

    >>> webhook_from_json({"version": "4", "alerts": [{"status": "firing", "labels":
    ...     {"pod": "x" * 5000}, "startsAt": "2026-11-27T11:33:00Z", "fingerprint": "f"}]},
    ...     now=0.0)
    Traceback (most recent call last):
    ...
    aiops.sources.alertmanager.WebhookError: alerts[0].labels.pod: label value of 5000 bytes ...
    """
    if not isinstance(data, dict):
        raise WebhookError("expected a JSON object")
    try:
        hook = WebhookV4.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        msg = err["msg"].removeprefix("Value error, ")
        raise WebhookError(msg, field=_field(tuple(err["loc"])) or None) from None
    for i, a in enumerate(hook.alerts):
        _check_size(i, a, max_label_value_bytes, max_alert_bytes)
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


def _utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def _check_size(i: int, alert: AlertV4, max_value: int, max_alert: int) -> None:
    total = 0
    for name, value in alert.labels.items():
        size = _utf8_len(value)
        if size > max_value:
            raise WebhookError(f"label value of {size} bytes (limit {max_value})",
                               field=f"alerts[{i}].labels.{name[:100]}")
        total += size + _utf8_len(name)
    for name, value in alert.annotations.items():
        total += _utf8_len(name) + _utf8_len(value)
    total += len(alert.fingerprint) + len(alert.generatorURL)
    if total > max_alert:
        raise WebhookError(f"alert of {total} bytes of labels and annotations "
                           f"(limit {max_alert})", field=f"alerts[{i}]")
