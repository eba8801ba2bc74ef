"""Group commit: concurrent webhook requests share journal transactions, answers stay exact."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from aiops.http.group_commit import GroupCommit
from aiops.journal import Journal
from aiops.model import Alert
from tests.runbook.factories import alert


class SlowJournal:
    """The real journal, each transaction held 20 ms (a slow disk) and counted."""

    def __init__(self, path: Path) -> None:
        self.journal = Journal(path)
        self.sizes: list[int] = []
        self.gate = threading.Event()

    def record(self, alerts: list[Alert], now: float) -> list[Alert]:
        self.sizes.append(len(alerts))
        self.gate.wait(0.02)
        return self.journal.record_new_alerts(alerts, now)


def test_concurrent_requests_share_transactions(tmp_path: Path) -> None:
    """50 concurrent requests need far fewer than 50 transactions; each learns its new alerts."""
    slow = SlowJournal(tmp_path / "j.sqlite")
    commit = GroupCommit(slow.record)
    requests = [[alert("A", fingerprint=f"{i:04x}", t=1.0)] for i in range(50)]
    requests.append([alert("A", fingerprint="0007", t=1.0)])  # a redelivery of request 7

    async def main() -> list[list[Alert]]:
        return list(await asyncio.gather(*(commit.record(r, 1.0) for r in requests)))

    answers = asyncio.run(main())
    assert sum(slow.sizes) == 51 and len(slow.sizes) == commit.transactions < 10
    assert [len(a) for a in answers[:50]] == [1] * 50 and answers[50] == []
    with sqlite3.connect(tmp_path / "j.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM signals").fetchone()[0] == 50


def test_a_failed_transaction_fails_every_request_in_it(tmp_path: Path) -> None:
    """When the write fails, each waiting request gets the error (and answers 503)."""
    def broken(alerts: list[Alert], now: float) -> list[Alert]:
        raise sqlite3.OperationalError("disk I/O error")

    commit = GroupCommit(broken)

    async def main() -> list[BaseException | list[Alert]]:
        return list(await asyncio.gather(
            *(commit.record([alert("A", fingerprint=str(i))], 1.0) for i in range(5)),
            return_exceptions=True))

    results = asyncio.run(main())
    assert all(isinstance(r, sqlite3.OperationalError) for r in results)
    with pytest.raises(sqlite3.OperationalError):
        asyncio.run(commit.record([alert("A")], 2.0))
