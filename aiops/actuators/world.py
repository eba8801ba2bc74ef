"""The world server as an actuator: actions reach the one sandbox world over HTTP.

``aiops world-server`` serves the sandbox world as a Prometheus scrape target *and* an
actuation API (:mod:`aiops.http.world`); this actuator is that API's client, so the world
Prometheus scrapes is the world the daemon heals and a heal shows in Prometheus. One
attempt per call: an unreachable server, a timeout or a 5xx is a
:class:`~aiops.errors.TemporaryError` (safe to retry: the world applies each action id
once, a repeat answers ``already-done``), a 4xx a :class:`~aiops.errors.PermanentError`
with the server's reason. :meth:`WorldActuator.reconcile` asks the world whether it
applied an action id. :meth:`WorldActuator.clock_frame` is the world's clock, which the
daemon follows, so both count the same simulated seconds at any speed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from aiops.config.actuators import WorldConfig
from aiops.errors import ConfigError, PermanentError, TemporaryError
from aiops.model import Action, Outcome, Reconciled, Reconciliation, Target, TargetState
from aiops.sim.timeframe import FrameError, TimeFrame
from aiops.sim.wire import WireError, action_to_json, outcome_from_json, state_from_json

RETRY_AFTER = 1.0


def _token(config: WorldConfig, base_dir: Path | None) -> str | None:
    if config.token_file is None:
        return None
    path = Path(config.token_file).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    try:
        token = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read token file: {exc}", file=str(path),
                          field="actuator.world.token_file") from None
    if not token:
        raise ConfigError("token file is empty", file=str(path),
                          field="actuator.world.token_file")
    return token


class WorldActuator:
    """Applies actions to, and observes targets of, a world server at ``config.url``."""

    name = "world"

    def __init__(self, config: WorldConfig, *, base_dir: Path | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        token = _token(config, base_dir)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=config.url.rstrip("/"), timeout=config.timeout,
                                  headers=headers, transport=transport)

    def _call(self, method: str, path: str, body: Any = None,
              missing_ok: bool = False) -> Any:
        try:
            r = self._http.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise TemporaryError(f"world server {self.config.url}: {type(exc).__name__}: "
                                 f"{str(exc)[:200]}", retry_after=RETRY_AFTER) from None
        if r.status_code == 404 and missing_ok:
            return None
        if r.status_code >= 500:
            raise TemporaryError(f"world server {self.config.url}{path}: {r.status_code}",
                                 retry_after=RETRY_AFTER)
        try:
            answer = r.json()
        except ValueError:
            raise TemporaryError(f"world server {self.config.url}{path}: answer is not JSON",
                                 retry_after=RETRY_AFTER) from None
        if r.status_code >= 400:
            reason = answer.get("error") if isinstance(answer, dict) else None
            raise PermanentError(f"world server refused {method} {path}: {r.status_code} "
                                 f"{str(reason or r.text)[:300]}")
        return answer

    def clock_frame(self) -> TimeFrame:
        """The world's clock: its frame, read from ``/v1/clock``."""
        try:
            return TimeFrame.from_dict(self._call("GET", "/v1/clock"))
        except FrameError as exc:
            raise PermanentError(f"world server {self.config.url}: {exc}") from None

    def faults(self) -> list[dict[str, Any]]:
        """The world's fault schedule, with what healed each fault (``/v1/faults``)."""
        answer = self._call("GET", "/v1/faults")
        return list(answer.get("faults", [])) if isinstance(answer, dict) else []

    def apply(self, action: Action, *, now: float) -> Outcome:
        """POST the action; the world applies it at its own time (which ``now`` follows)."""
        answer = self._call("POST", "/v1/actions", action_to_json(action))
        try:
            return outcome_from_json(answer)
        except WireError as exc:
            raise TemporaryError(f"world server answered a malformed outcome: {exc}",
                                 retry_after=RETRY_AFTER) from None

    def observe(self, target: Target, *, now: float) -> TargetState:
        path = "/v1/targets/" + "/".join(quote(p, safe="") for p in
                                         (target.kind, target.namespace or "-", target.name))
        answer = self._call("GET", path)
        try:
            return state_from_json(answer)
        except WireError as exc:
            raise TemporaryError(f"world server answered a malformed state: {exc}",
                                 retry_after=RETRY_AFTER) from None

    def reconcile(self, action: Action, *, before: Mapping[str, Any],
                  now: float) -> Reconciliation:
        """Whether the world applied ``action.id`` (it remembers the ids it applied)."""
        try:
            seen = self._call("GET", f"/v1/actions/{quote(action.id, safe='')}",
                              missing_ok=True)
        except TemporaryError as exc:
            return Reconciliation(action_id=action.id, status=Reconciled.UNKNOWN,
                                  message=str(exc))
        if seen is None:
            return Reconciliation(action_id=action.id, status=Reconciled.NOT_DONE,
                                  message=f"the world has no record of {action.id}")
        return Reconciliation(action_id=action.id, status=Reconciled.DONE,
                              message=f"the world applied {action.id} at t={seen.get('t')}")

    def close(self) -> None:
        self._http.close()
