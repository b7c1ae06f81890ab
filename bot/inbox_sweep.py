"""Picks up inbox rows a crash left behind: committed (so the channel confirmed them) but never processed.

At start every pending row of the channel is taken up; afterwards, every ``SWEEP_SECONDS``, rows pending
longer than ``STALE_SECONDS`` (a dead worker's — a live one finishes in well under a second). Claiming is
transactional, so a row that is merely slow, or that a client re-sends meanwhile, is still processed once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from crm.db import Database
from crm.inbox import pending_ids
from crm.types import utcnow

log = logging.getLogger(__name__)

SWEEP_SECONDS = 30
STALE_SECONDS = 60

Take = Callable[[int, str, str], Awaitable[None]]  # (inbox id, channel, chat key)


class InboxSweeper:
    def __init__(self, db: Database, channels: tuple[str, ...], take: Take, *, name: str) -> None:
        self.db = db
        self.channels = channels
        self.take = take
        self.name = name
        self._task: asyncio.Task[None] | None = None

    async def recover(self, received_before: datetime | None = None) -> int:
        """Hand every pending row (received before ``received_before``) to ``take``, oldest first."""
        count = 0
        for channel in self.channels:
            for inbox_id, _channel, chat_key in await pending_ids(self.db, channel, received_before=received_before):
                await self.take(inbox_id, channel, chat_key)
                count += 1
        return count

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        """Awaited: the sweep must not touch the store after it is disposed."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                await self.recover(received_before=utcnow() - timedelta(seconds=STALE_SECONDS))
            except Exception:  # the database may be briefly unavailable; the next sweep retries
                log.exception("inbox sweep failed")
