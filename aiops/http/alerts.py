"""``POST /v1/alerts``: the Alertmanager webhook receiver (v4 payloads), role ``alerts``.

The order of checks is the contract:

1. the edge's checks (:mod:`aiops.http.endpoint`): origin, token and role (**401**/**403**)
   before any byte of the body is read, ``application/json`` (**415**), the body cap
   ``http.max_body_bytes`` on the declared length and while streaming (**413**: a 1 GiB
   body is never buffered), bounded UTF-8 JSON (**400**);
2. schema: a body that is not a v4 payload, a label value longer than
   ``max_label_value_bytes`` or an alert larger than ``max_alert_bytes`` gets **400**
   naming the field (``alerts[0].labels.pod``);
3. the alerts are stored in the journal in one durable transaction (dedup by fingerprint +
   startsAt + status), shared with the requests that arrived meanwhile (group commit,
   :mod:`aiops.http.group_commit`); if that fails the answer is **503** so Alertmanager
   retries;
4. only then **200**, and the alerts the journal had not seen before are handed to
   ``on_alerts`` (the remediation engine): a retried delivery is acknowledged again but
   never handed over twice.

Nothing is written unless every check passed, so a rejected request leaves no trace
but a counter.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from starlette.responses import JSONResponse, Response

from aiops.config.server import HttpLimits
from aiops.http.endpoint import Call, Endpoint, error
from aiops.http.group_commit import GroupCommit
from aiops.http.limits import Refusal
from aiops.model import Alert
from aiops.sources.alertmanager import WebhookError, webhook_from_json
from aiops.telemetry.logging import get_logger
from aiops.telemetry.metrics import Metrics

PATH = "/v1/alerts"


class AlertJournal(Protocol):
    """The journal's side of the webhook: durable before return, deduplicating."""

    def record_new_alerts(self, alerts: Iterable[Alert], now: float) -> list[Alert]: ...


OnAlerts = Callable[[Sequence[Alert], float], None]
_RESULT = {"unauthorized": "unauthorized", "too_large": "too_large", "forbidden": "forbidden",
           "media_type": "invalid", "timeout": "disconnected"}


def alert_endpoints(
    *,
    journal: AlertJournal,
    on_alerts: OnAlerts | None = None,
    max_body_bytes: int = 1_048_576,
    limits: HttpLimits | None = None,
    clock: Callable[[], float] = time.time,
    metrics: Metrics | None = None,
    path: str = PATH,
) -> list[Endpoint]:
    """The webhook endpoint, to pass to :func:`aiops.http.app.build_app`."""
    log = get_logger("webhook")
    bounds = limits or HttpLimits()
    commit = GroupCommit(lambda alerts, now: journal.record_new_alerts(alerts, now))

    def count(result: str, n: int = 1) -> None:
        if metrics is not None and n:
            metrics.webhook_alerts.labels(result).inc(n)

    def refused(exc: Refusal) -> None:
        if exc.reason.startswith("client disconnected"):
            count("disconnected")
        else:
            count(_RESULT.get(exc.code, "invalid"))

    async def receive(call: Call) -> Response:
        now = clock()
        try:
            hook = webhook_from_json(
                call.body, now=now, max_label_value_bytes=bounds.max_label_value_bytes,
                max_alert_bytes=bounds.max_alert_bytes,
            )
        except WebhookError as exc:
            raise Refusal(400, exc.reason, field=exc.field) from None
        try:
            fresh = await commit.record(hook.alerts, now)
        except Exception as exc:  # the journal is down: make Alertmanager retry
            count("journal_error")
            log.error("webhook journal write failed", error=str(exc)[:300])
            return error(503, "journal unavailable, retry later", headers={"Retry-After": "5"})
        count("new", len(fresh))
        count("duplicate", len(hook.alerts) - len(fresh))
        if fresh and on_alerts is not None:
            try:
                on_alerts(fresh, now)
            except Exception as exc:  # already durable: the engine can recover from the journal
                log.error("webhook hand-off failed", error=str(exc)[:300], alerts=len(fresh))
        log.info(
            "webhook received", receiver=hook.receiver[:100], alerts=len(hook.alerts),
            new=len(fresh), truncated=hook.truncated, principal=call.principal.name,
        )
        return JSONResponse(
            {
                "status": "ok",
                "received": len(hook.alerts),
                "new": len(fresh),
                "duplicates": len(hook.alerts) - len(fresh),
            }
        )

    return [Endpoint(name="alerts", path=path, handler=receive, method="POST", role="alerts",
                     max_body=max_body_bytes, on_refused=refused)]
