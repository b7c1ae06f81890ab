"""One pacing limiter shared by every sender: below Telegram's limits instead of bouncing off them.

Telegram allows about 30 messages/s per bot, 1/s per private chat and 20/min per group. A burst over
those earns 429s and a ``retry_after`` during which the whole bot is muted, so we space sends out:
a global slot every 1/rate seconds, a per-chat gap, and a global pause when Telegram asks for one.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

GROUP_GAP = 3.0  # 20 messages a minute


class RateLimiter:
    def __init__(
        self,
        per_second: float,
        per_chat_gap: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = 1.0 / per_second
        self.per_chat_gap = per_chat_gap
        self._clock = clock
        self._next_global = 0.0
        self._paused_until = 0.0
        self._recent: deque[float] = deque()
        self._window_size = max(1, int(per_second))
        self._chat_ready: dict[str, float] = {}
        self._chat_locks: dict[str, asyncio.Lock] = {}

    def _gap(self, chat_id: str) -> float:
        return GROUP_GAP if chat_id.startswith("-") else self.per_chat_gap

    @asynccontextmanager
    async def slot(self, chat_id: str) -> AsyncIterator[None]:
        """Wait for this chat's turn and a global slot; hold the chat until the send is done."""
        lock = self._chat_locks.setdefault(chat_id, asyncio.Lock())
        async with lock:
            await self._sleep_until(self._chat_ready.get(chat_id, 0.0))
            while True:
                now = self._clock()
                start = max(now, self._next_global, self._paused_until)
                self._next_global = start + self.interval
                await self._sleep_until(start)
                if self._clock() >= self._paused_until:  # a 429 may have paused us while we slept
                    break
            try:
                yield
            finally:
                self._chat_ready[chat_id] = self._clock() + self._gap(chat_id)
                self._forget_idle_chats()

    async def within_window(self) -> None:
        """At most ``per_second`` request starts in any one-second window, checked right before the
        request. Slots are granted evenly, but what runs between the grant and the request (committing
        the in-flight mark) can hold several back; they may then go close together, never over the rate."""
        while True:
            now = self._clock()
            while self._recent and now - self._recent[0] >= 1.0:
                self._recent.popleft()
            if len(self._recent) < self._window_size and now >= self._paused_until:
                self._recent.append(now)
                return
            oldest_leaves = self._recent[0] + 1.0 if len(self._recent) >= self._window_size else now
            await self._sleep_until(max(oldest_leaves, self._paused_until))

    def pause(self, seconds: float) -> None:
        """Telegram said ``retry_after``: nobody sends until then."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    async def _sleep_until(self, moment: float) -> None:
        delay = moment - self._clock()
        if delay > 0:
            await asyncio.sleep(delay)

    def _forget_idle_chats(self) -> None:
        if len(self._chat_ready) < 10_000:
            return
        now = self._clock()
        for chat_id in [c for c, ready in self._chat_ready.items() if ready < now]:
            del self._chat_ready[chat_id]
            lock = self._chat_locks.get(chat_id)
            if lock is not None and not lock.locked():
                del self._chat_locks[chat_id]
