"""The ``notify``/``webhook`` step: HTTP POST of a JSON body with httpx.

2xx is done; 408/429/5xx and network errors are temporary (retry after); any other
status is permanent. Dry runs post nothing, read no secret and report what they would
have sent. Header values that are secret references are resolved here, at apply time
(:mod:`aiops.actuators.secrets`), and removed from any message the outcome carries.
"""

from __future__ import annotations

from typing import Any

import httpx

from aiops.actuators.secrets import redact, resolve_headers
from aiops.errors import PermanentError, TemporaryError
from aiops.model import Action, Outcome, OutcomeStatus, Target, TargetState


class WebhookActuator:
    """POSTs ``action.params['body']`` to ``action.params['url']``."""

    name = "webhook"

    def __init__(self, *, timeout: float = 10.0, client: httpx.Client | None = None) -> None:
        self._client = client or httpx.Client(timeout=timeout, follow_redirects=False)

    def observe(self, target: Target, *, now: float) -> TargetState:
        return TargetState(target=target)

    def apply(self, action: Action, *, now: float) -> Outcome:
        url = str(action.params.get("url", ""))
        if not url.startswith(("http://", "https://")):
            raise PermanentError(f"webhook url {url!r} is not http(s)")
        body: Any = action.params.get("body") or {}
        if action.dry_run:
            return Outcome(
                action_id=action.id,
                status=OutcomeStatus.DRY_RUN,
                message=f"would POST {url}",
                after={"url": url, "body": body},
            )
        headers, secrets = resolve_headers(action.params.get("headers") or {})
        headers.setdefault("Idempotency-Key", action.id)
        try:
            resp = self._client.post(url, json=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise TemporaryError(redact(f"POST {url} timed out: {exc}", secrets),
                                 retry_after=10.0) from None
        except (httpx.HTTPError, ValueError) as exc:  # ValueError: a header httpx refuses
            raise TemporaryError(redact(f"POST {url} failed: {exc}", secrets),
                                 retry_after=10.0) from None
        code = resp.status_code
        if 200 <= code < 300:
            return Outcome(
                action_id=action.id,
                status=OutcomeStatus.DONE,
                message=f"POST {url} -> {code}",
                after={"status": code},
            )
        if code in (408, 429) or code >= 500:
            retry = resp.headers.get("Retry-After", "")
            raise TemporaryError(
                f"POST {url} -> {code}",
                retry_after=float(retry) if retry.isdigit() else 10.0,
            )
        # redact before truncating: a cut-off secret would no longer match
        raise PermanentError(f"POST {url} -> {code}: " + redact(resp.text, secrets)[:200])

    def close(self) -> None:
        self._client.close()
