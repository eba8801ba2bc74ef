"""Group commit: concurrent webhook requests share one durable journal transaction.

Every accepted alert must be in the journal (``synchronous=FULL``: an fsync) before its
200. One transaction per request caps ingestion at one fsync per request; instead, while
one transaction is being written, the requests that arrive meanwhile queue up and the
next transaction stores all of them at once. Nobody waits for a timer: a lone request
is written at once, and under load each fsync carries many requests. Each request still
gets its answer only after the transaction holding its alerts committed, and learns which
of its own alerts were new; if the write fails every request in it fails (503).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from aiops.model import Alert

Record = Callable[[list[Alert], float], list[Alert]]
Waiting = tuple[Sequence[Alert], float, "asyncio.Future[list[Alert]]"]


class GroupCommit:
    """Batches ``record(alerts, now)`` calls from one event loop into shared transactions."""

    def __init__(self, record: Record, *, max_alerts: int = 10_000) -> None:
        self._record = record
        self._max = max_alerts
        self._pending: list[Waiting] = []
        self._writer: asyncio.Task[None] | None = None
        self.transactions = 0

    async def record(self, alerts: Sequence[Alert], now: float) -> list[Alert]:
        """Store ``alerts`` durably (with whatever else is waiting); return the new ones."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[list[Alert]] = loop.create_future()
        self._pending.append((alerts, now, done))
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._drain())
        return await done

    def _take(self) -> list[Waiting]:
        batch: list[Waiting] = []
        size = 0
        while self._pending and (not batch or size + len(self._pending[0][0]) <= self._max):
            item = self._pending.pop(0)
            batch.append(item)
            size += len(item[0])
        return batch

    async def _drain(self) -> None:
        while self._pending:
            batch = self._take()
            alerts = [a for request, _, _ in batch for a in request]
            now = max(n for _, n, _ in batch)
            try:
                fresh = await asyncio.to_thread(self._record, alerts, now)
            except Exception as exc:  # every request of the batch answers 503
                for _, _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            self.transactions += 1
            new = {id(a) for a in fresh}
            for request, _, done in batch:
                if not done.done():
                    done.set_result([a for a in request if id(a) in new])
