"""Per-client limits kept in memory: failures that slow a key down, events per key per window, and a gate
that bounds how much of an expensive thing runs (or waits) at once.

Every table here is bounded: an attacker cycling through names or addresses pushes out the entries touched
longest ago, one at a time, instead of filling memory or making the table forget everyone at once (which
would reset the counters of the one name actually under attack). Entries also expire once idle.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

V = TypeVar("V")
CAPACITY = 10_000


@dataclass
class TooMany(Exception):
    """Refused for now; the client may try again in ``retry_after`` seconds (whole, for the header)."""

    retry_after: float

    @property
    def header(self) -> str:
        return str(max(1, math.ceil(self.retry_after)))


class Lru(Generic[V]):
    """An ordered table: reading or writing a key makes it the newest; beyond capacity the oldest goes."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, V] = OrderedDict()

    def get(self, key: str) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: str, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def pop(self, key: str) -> None:
        self._items.pop(key, None)

    def __len__(self) -> int:
        return len(self._items)


class Backoff:
    """Failures per key: the first ``free`` cost nothing, then each further try must wait 1, 2, 4 … s
    (at most ``max_delay``) after the last failure. The key's owner is slowed down, never locked out: once
    the wait is over the right password works, however many wrong ones came before."""

    def __init__(self, free: int, max_delay: float, *, capacity: int = CAPACITY,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.free = free
        self.max_delay = max_delay
        self.forget_after = max(900.0, 4 * max_delay)  # idle this long: the key starts afresh
        self.clock = clock
        self._failures: Lru[tuple[int, float]] = Lru(capacity)

    def _delay(self, failures: int) -> float:
        return 0.0 if failures < self.free else min(self.max_delay, 2.0 ** (failures - self.free))

    def wait(self, key: str) -> float:
        """Seconds until ``key`` may try again (0: now)."""
        entry = self._failures.get(key)
        if entry is None:
            return 0.0
        failures, last = entry
        now = self.clock()
        if now - last >= self.forget_after:
            self._failures.pop(key)
            return 0.0
        return max(0.0, last + self._delay(failures) - now)

    def failed(self, key: str) -> None:
        entry = self._failures.get(key)
        failures = entry[0] if entry is not None and self.clock() - entry[1] < self.forget_after else 0
        self._failures.put(key, (failures + 1, self.clock()))

    def reset(self, key: str) -> None:
        self._failures.pop(key)

    def refund(self, key: str) -> None:
        """Take back one failure counted in advance for a try that turned out not to be one."""
        entry = self._failures.get(key)
        if entry is not None:
            if entry[0] <= 1:
                self._failures.pop(key)
            else:
                self._failures.put(key, (entry[0] - 1, entry[1]))

    def __len__(self) -> int:
        return len(self._failures)


class Window:
    """At most ``limit`` events per key in any ``seconds``-long window (a sliding log per key)."""

    def __init__(self, limit: int, seconds: float, *, capacity: int = CAPACITY,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.seconds = seconds
        self.clock = clock
        self._events: Lru[deque[float]] = Lru(capacity)

    def hit(self, key: str) -> float:
        """Record an event for ``key`` and return 0, or — over the limit — record nothing and return the
        seconds until one is allowed again."""
        now = self.clock()
        events = self._events.get(key)
        if events is None:
            events = deque()
            self._events.put(key, events)
        while events and now - events[0] >= self.seconds:
            events.popleft()
        if len(events) >= self.limit:
            return events[0] + self.seconds - now
        events.append(now)
        return 0.0


class Gate:
    """At most ``running`` holders at once and ``waiting`` more queued; anyone beyond is refused at once
    (``TooMany``) instead of piling up requests that would time out anyway."""

    def __init__(self, running: int, waiting: int, *, retry_after: float = 1.0) -> None:
        self._slots = asyncio.Semaphore(running)
        self._max_waiting = waiting
        self._waiting = 0
        self._retry_after = retry_after

    @property
    def queued(self) -> int:
        return self._waiting

    @asynccontextmanager
    async def enter(self) -> AsyncIterator[None]:
        if self._slots.locked() and self._waiting >= self._max_waiting:
            raise TooMany(self._retry_after)
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        try:
            yield
        finally:
            self._slots.release()


class Pace:
    """A steady rate per key with a burst (a token bucket that lends ahead): each event is given the moment
    it may go, so a client sending faster than ``rate`` waits its turn instead of being refused, and costs
    nothing while it waits. Only a wait beyond ``max_wait`` is refused (``TooMany``), so a client with many
    connections cannot line up unbounded work either."""

    def __init__(self, rate: float, burst: int, max_wait: float, *, capacity: int = CAPACITY,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.max_wait = max_wait
        self.clock = clock
        self._tokens: Lru[tuple[float, float]] = Lru(capacity)

    def reserve(self, key: str) -> float:
        """Seconds until this event may go (0: now), reserved; ``TooMany`` if that is beyond ``max_wait``."""
        now = self.clock()
        tokens, last = self._tokens.get(key) or (float(self.burst), now)
        tokens = min(float(self.burst), tokens + (now - last) * self.rate) - 1
        wait = max(0.0, -tokens / self.rate)
        if wait > self.max_wait:
            raise TooMany(wait - self.max_wait)
        self._tokens.put(key, (tokens, now))
        return wait

    def __len__(self) -> int:
        return len(self._tokens)
