"""Drains the outbox: claims due rows, sends them through the channel's sender, records the outcome."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Collection
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Generic, TypeVar

from crm import outbox
from crm.db import Database
from crm.models import Outbox
from crm.types import utcnow

log = logging.getLogger(__name__)

RECOVERY_SECONDS = 10.0
STOP_SECONDS = 10.0  # at stop, chats still sending get this long to finish the row in hand
# A row for a chat only some workers reach (a web socket) that no worker claimed for this long: the guest is
# connected nowhere, and it is parked as held until they come back (crm.outbox.park_unclaimed)
UNCLAIMED_SECONDS = timedelta(seconds=60)
T = TypeVar("T")


@dataclass
class SendError(Exception):
    """A failed send. ``retry`` False means never retry (chat blocked us, bad request)."""

    reason: str
    retry: bool = True
    outcome_unknown: bool = False  # timed out after the request left: it may have been delivered
    hold: bool = False  # may not be sent now (outside a platform's window): held for staff, with the reason


@dataclass(frozen=True)
class Fold:
    """A sender's answer for a row it will not post alone (a staff alert beyond its chat's rate): the row
    is counted in ``digest``, a row queued for later (see crm.outbox.fold)."""

    digest: Outbox


Sender = Callable[[Outbox], Awaitable["str | None | Fold"]]
HELD = "held"  # a sender returns this when the row has nowhere to go yet (e.g. no staff chat configured)
_attempt: ContextVar[Callable[[], Awaitable[None]] | None] = ContextVar("outbox_attempt", default=None)


async def attempting() -> None:
    """Senders call this right before the request that may deliver the row (after any rate-limit wait).

    It records that the outcome is no longer "certainly not sent": a crash after this leaves the row
    ``unknown`` (never resent: the request has almost always reached Telegram by then), a crash before it
    lets the row be sent after restart. The window in which a crash loses a message is the moment between
    this commit and the request leaving; the window for a duplicate is closed.
    """
    hook = _attempt.get()
    if hook is not None:
        _attempt.set(None)  # once per row, however many pieces the text is split into
        await hook()


class Coalescer(Generic[T]):
    """Group commit: items added while one flush is being written go into the next single flush.

    Each caller still waits until its own item is committed, so "marked before sent" holds; under load
    dozens of marks share one transaction instead of queueing for the SQLite write lock one by one.
    """

    def __init__(self, flush: Callable[[list[T]], Awaitable[None]]) -> None:
        self._flush = flush
        self._items: list[T] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._running: asyncio.Task[None] | None = None

    async def add(self, item: T) -> None:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._items.append(item)
        self._waiters.append(waiter)
        if self._running is None or self._running.done():
            self._running = asyncio.create_task(self._drain())
        await waiter

    async def _drain(self) -> None:
        while self._items:
            items, waiters = self._items, self._waiters
            self._items, self._waiters = [], []
            try:
                await self._flush(items)
            except Exception as exc:  # each waiter sees the failure of its own mark
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_exception(exc)
            else:
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_result(None)


class Deliverer:
    """One loop per process; per-chat order kept, chats delivered concurrently under the limiter."""

    def __init__(self, db: Database, *, batch: int = 200, bulk_batch: int = 25, idle_seconds: float = 1.0) -> None:
        self.db = db
        self.on_uncertain: outbox.Report | None = None  # staff are told, in the recovery's transaction (bot.app)
        self.on_held: Callable[[], None] | None = None  # a row was held for staff: the live dashboard looks now
        # (guest's zone, now) → when quiet hours end, or now outside them (bot.app, from config)
        self.quiet_until: Callable[[str, datetime], datetime] | None = None
        self.time_shift = timedelta(0)  # the guests' time minus the real one, for those checks (tests travel in time)
        self._attempts: Coalescer[int] = Coalescer(partial(outbox.mark_attempt, db))
        self._sent: Coalescer[tuple[int, str | None]] = Coalescer(partial(outbox.mark_sent, db))
        self.batch = batch  # rows held at once, per lane (replies, alerts)
        # Campaign rows held at once. Each holds a place in the limiter's queue for a global send slot, so this
        # many seconds-worth at the global rate (bot.app sets it to one second's) is what a reply that
        # arrives in the middle of a campaign waits behind.
        self.bulk_batch = bulk_batch
        self.idle_seconds = idle_seconds
        self._senders: dict[str, Sender] = {}
        self._reachable: dict[str, Callable[[], Collection[str]]] = {}
        self._unserved: set[str] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        # Claimed rows not yet finished, and one task per chat sending them: a chat that must wait (a
        # group's 3 s pacing, a retry_after) holds only its own rows, never the next claim for other chats.
        self._held: dict[int, Outbox] = {}
        self._chats: dict[tuple[str, str], asyncio.Task[None]] = {}

    def register(self, channel: str, sender: Sender, *, reachable: Callable[[], Collection[str]] | None = None) -> None:
        """``reachable``: the chats this process can deliver to on that channel now (its open web sockets);
        without it every chat is."""
        self._senders[channel] = sender
        if reachable is not None:
            self._reachable[channel] = reachable

    def park_unserved(self, *channels: str) -> None:
        """Channels this process cannot send on (staff alerts without Telegram). A worker that can would
        claim their rows within seconds; rows nobody claimed for ``UNCLAIMED_SECONDS`` are parked as held,
        so they leave the queue and the outbox lag instead of waiting there forever."""
        self._unserved.update(channels)

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        await self.recover()
        self._task = asyncio.create_task(self._run(), name="outbox-delivery")

    async def stop(self) -> None:
        """Stop claiming; let each chat finish the row in hand (bounded), give back the rows not begun."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
        chats = list(self._chats.values())
        if chats:
            _done, late = await asyncio.wait(chats, timeout=STOP_SECONDS)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        if self._held:
            await outbox.release(self.db, list(self._held))
            self._held.clear()

    async def _run(self) -> None:
        next_recovery = time.monotonic() + RECOVERY_SECONDS
        next_renewal = time.monotonic() + outbox.LEASE.total_seconds() / 3
        while not self._stopping:
            try:
                if time.monotonic() >= next_renewal:  # rows still waiting here keep their lease
                    next_renewal = time.monotonic() + outbox.LEASE.total_seconds() / 3
                    await outbox.renew_leases(self.db, list(self._held))
                if time.monotonic() >= next_recovery:  # rows leased by a worker that died since
                    next_recovery = time.monotonic() + RECOVERY_SECONDS
                    await self.recover()
                sent = await self.drain_once()
            except Exception:  # keep delivering after a database hiccup
                log.exception("outbox delivery round failed")
                sent = 0
            if sent == 0 and not self._stopping:
                try:
                    idle = min(self.idle_seconds, outbox.LEASE.total_seconds() / 3)
                    await asyncio.wait_for(self._wake.wait(), timeout=idle)
                except TimeoutError:
                    pass
                self._wake.clear()

    async def _hold_back(self, rows: list[Outbox]) -> list[Outbox]:
        """Campaign rows that waited in a backlog: past their point they expire, in the guest's night they
        go back to wait for the morning (a 100 000-guest campaign at 25/s runs for more than an hour).
        Written in one transaction for the batch; returns the rows to send now."""
        now = utcnow() + self.time_shift
        expired: list[int] = []
        deferred: list[tuple[int, datetime]] = []
        ready: list[Outbox] = []
        for row in rows:
            resume = self.quiet_until(row.zone, now) if row.zone is not None and self.quiet_until else now
            if row.expires_at is not None and now >= row.expires_at:
                expired.append(row.id or 0)
            elif resume > now:
                deferred.append((row.id or 0, resume - self.time_shift))
            else:
                ready.append(row)
        if expired or deferred:
            await outbox.hold_back(self.db, expired=expired, deferred=deferred)
        return ready

    async def recover(self) -> None:
        """Rows a dead sender left behind, and rows nobody here or elsewhere can deliver now (every
        ``RECOVERY_SECONDS``)."""
        if await outbox.recover_expired_leases(self.db, report=self.on_uncertain):
            self.wake()  # the notice to staff is queued
        due_before = utcnow() - UNCLAIMED_SECONDS
        for channel, reachable in self._reachable.items():
            await outbox.park_unclaimed(self.db, channel, due_before=due_before, reachable_here=reachable())
        for channel in self._unserved - self._senders.keys():
            await outbox.park_unclaimed(self.db, channel, due_before=due_before, reachable_here=())

    async def drain_once(self) -> int:
        """Claim due rows for chats not already sending here and start sending them (each chat in its own
        task, in order); returns how many rows were claimed. Does not wait for the sends: a chat that has
        to wait must not hold up the next claim for everyone else."""
        channels = tuple(self._senders)
        held = Counter(outbox.lane_of(row.kind) for row in self._held.values())
        room = {lane: (self.bulk_batch if lane == "bulk" else self.batch) - held[lane] for lane in outbox.LANES}
        if not channels or max(room.values()) <= 0:
            return 0
        only = {channel: reachable() for channel, reachable in self._reachable.items()}
        rows = await outbox.claim_due(self.db, limit=room, channels=channels, only_chats=only, busy=list(self._chats))
        claimed = len(rows)
        rows = await self._hold_back(rows)
        by_chat: dict[tuple[str, str], list[Outbox]] = defaultdict(list)
        for row in rows:
            self._held[row.id or 0] = row
            by_chat[outbox.chat_key(row)].append(row)
        for key, chat_rows in by_chat.items():
            task = asyncio.create_task(self._send_chat(chat_rows), name=f"outbox-{key[0]}")
            self._chats[key] = task
            task.add_done_callback(partial(self._chat_done, key))
        return claimed

    def _chat_done(self, key: tuple[str, str], task: asyncio.Task[None]) -> None:
        if self._chats.get(key) is task:
            del self._chats[key]
        if not task.cancelled() and task.exception() is not None:
            log.error("sending to a chat failed", exc_info=task.exception())
        self.wake()  # the chat's next rows (if any) may be claimed now

    async def _send_chat(self, rows: list[Outbox]) -> None:
        folded: list[tuple[int, Outbox]] = []  # written together: a storm folds hundreds of alerts
        handled = 0
        try:
            for row in rows:
                if self._stopping:
                    return  # the rest are given back by stop()
                fold = await self._send_one(row)
                handled += 1
                if fold is not None:
                    folded.append((row.id or 0, fold.digest))
                else:
                    self._held.pop(row.id or 0, None)
        finally:
            # whatever happens, nothing stays held (and renewed) here without being sent: a failure part-way
            # gives the rest back to the queue; unwritten folds come back when their lease runs out
            rest = [row.id or 0 for row in rows[handled:]] if not self._stopping else []
            for row_id in [*rest, *(row_id for row_id, _digest in folded)]:
                self._held.pop(row_id, None)
            if rest:
                await outbox.release(self.db, rest)
            if folded:
                await outbox.fold(self.db, folded)
                self.wake()  # the digest row may be new

    async def _send_one(self, row: Outbox) -> Fold | None:
        """Send one row and record the outcome; a row the sender folds is returned for the caller to record."""
        assert row.id is not None
        sender = self._senders[row.channel]
        token = _attempt.set(partial(self._attempts.add, row.id))
        try:
            external_id = await sender(row)
        except SendError as error:
            if error.hold:
                await outbox.hold(self.db, row, error.reason)
                if self.on_held is not None:
                    self.on_held()
            elif error.outcome_unknown and row.kind == "campaign":
                await outbox.mark(self.db, row.id, "unknown", error.reason)
            elif not error.retry:
                await outbox.mark(self.db, row.id, "failed", error.reason)
            else:
                delay = timedelta(seconds=min(300, 2 ** row.attempts))
                await outbox.mark_retry(self.db, row, error.reason, delay)
            return None
        except Exception as exc:  # a sender bug: keep the row for a later attempt
            log.exception("sender for %s raised", row.channel)
            await outbox.mark_retry(self.db, row, f"{type(exc).__name__}: {exc}", timedelta(seconds=30))
            return None
        finally:
            _attempt.reset(token)
        if isinstance(external_id, Fold):
            return external_id
        if external_id == HELD:
            await outbox.mark(self.db, row.id, "held", "no channel configured")
        else:
            await self._sent.add((row.id, external_id))
        return None
