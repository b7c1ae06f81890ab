"""The live dashboard: Server-Sent Events at ``/staff/events``.

New tickets, guest messages on conversations staff hold, SLA breaches and messages a channel would not
take now (held outside WhatsApp's or WeChat's customer-service window) reach an open dashboard without
a reload — for a hotel without Telegram the only way "the duty manager has been notified" comes true.

The feed is the ticket timeline itself (``ticketevent``): every one of those happenings already writes an
event in the transaction that causes it, on whichever worker, so one poller per process reading rows
past a cursor sees what every worker did, and nothing is announced that was rolled back. The poller runs
only while someone is connected and wakes at once when this process writes (``wake``); each subscriber
gets the rows its member may see (``crm.ticket_work.can_see``), worded in the member's language.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from dataclasses import dataclass
from typing import Final

from aiohttp import web
from sqlalchemy import func
from sqlmodel import select

from bot.staff.auth import StaffContext, guarded
from bot.staff.deps import StaffDeps
from bot.staff.formatting import category, department, guest_label
from crm.db import Database
from crm.models import Guest, Ticket, TicketEvent
from crm.outbox import HELD_EVENT
from crm.ticket_work import can_see

log = logging.getLogger(__name__)

LIVE_KINDS: Final = {  # timeline event → what the dashboard announces
    "created": "ticket",
    "guest_wrote": "message",
    "guest_chased": "message",
    "guest_not_solved": "reopened",
    HELD_EVENT: "held",  # written by crm.outbox.hold; the news links to the guest's page, where held rows are
}
SLA_ACTOR: Final = "sla"  # an "escalated" event by the SLA sweep is a breach
POLL_SECONDS: Final = 1.0  # how stale another worker's news may be; this process's own come at once
HEARTBEAT_SECONDS: Final = 15.0  # keeps proxies from closing an idle stream, and notices a gone browser
BATCH: Final = 200
# On PostgreSQL ids come from a sequence when a row is inserted, not when its transaction commits: a turn
# that inserted id 41 may commit after one that inserted 42 was read. Each poll looks this far behind the
# highest id seen and skips the ids it has already announced.
LOOKBACK: Final = 100


@dataclass(frozen=True)
class News:
    """One happening worth telling staff, before it is worded for a reader."""

    id: int
    kind: str  # ticket | message | reopened | sla | held
    event: TicketEvent
    ticket: Ticket
    guest_name: str = ""


class LiveFeed:
    """One per process: reads new timeline rows while anybody listens, fans them out to subscribers."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._subscribers: set[asyncio.Queue[News | None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._cursor: int | None = None
        self._seen: deque[int] = deque(maxlen=4 * LOOKBACK)
        self._floor: int = 0  # the newest id when listening started: older rows are history, not news

    def wake(self) -> None:
        """Something was just committed here: look now rather than at the next poll."""
        self._wake.set()

    async def subscribe(self) -> asyncio.Queue[News | None]:
        queue: asyncio.Queue[News | None] = asyncio.Queue(maxsize=500)
        if not self._subscribers:  # nobody was listening: news from before now is not news
            self._cursor = self._floor = await self._latest()
            self._seen.clear()
        self._subscribers.add(queue)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="staff-live-feed")
        return queue

    def unsubscribe(self, queue: asyncio.Queue[News | None]) -> None:
        self._subscribers.discard(queue)

    async def close(self) -> None:
        """Server shutdown: end every stream (a browser reconnects to the next process by itself)."""
        for queue in list(self._subscribers):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(None)
        self._subscribers.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _latest(self) -> int:
        async with self.db.read(short=True) as session:
            return int((await session.execute(select(func.max(TicketEvent.id)))).scalar_one() or 0)

    async def _run(self) -> None:
        while self._subscribers:
            try:
                await self._poll()
            except Exception:  # a database hiccup must not end the feed for good
                log.exception("live feed poll failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)
            self._wake.clear()

    async def _poll(self) -> None:
        async with self.db.read(short=True) as session:
            rows = (await session.execute(
                select(TicketEvent, Ticket, Guest.name).join(Ticket, Ticket.id == TicketEvent.ticket_id)  # type: ignore[arg-type]
                .join(Guest, Guest.id == Ticket.guest_id, isouter=True)  # type: ignore[arg-type]
                .where(TicketEvent.id > (self._cursor or 0) - LOOKBACK).order_by(TicketEvent.id).limit(BATCH + LOOKBACK)  # type: ignore[arg-type,operator]
            )).all()
        for event, ticket, guest_name in rows:
            if event.id in self._seen or (event.id or 0) <= self._floor:
                continue
            self._seen.append(event.id or 0)
            self._cursor = max(self._cursor or 0, event.id or 0)
            kind = SLA_ACTOR if event.kind == "escalated" and event.actor == SLA_ACTOR else LIVE_KINDS.get(event.kind)
            if kind is None:
                continue
            news = News(event.id or 0, kind, event, ticket, guest_name or "")
            for queue in list(self._subscribers):
                try:
                    queue.put_nowait(news)
                except asyncio.QueueFull:  # a stalled browser: it loses news rather than the process memory
                    log.warning("live dashboard subscriber is not reading; news dropped")


LIVE_KEY: Final = web.AppKey("staff_live", LiveFeed)


def add_routes(app: web.Application, deps: StaffDeps) -> LiveFeed:
    feed = LiveFeed(deps.db)
    app[LIVE_KEY] = feed
    app.router.add_get("/staff/events", events)

    async def close(_app: web.Application) -> None:
        await feed.close()

    app.on_shutdown.append(close)
    return feed


def _worded(ctx: StaffContext, news: News) -> dict[str, object]:
    ticket = news.ticket
    if news.kind == "held":  # the message is on the guest's page; the channel it was meant for is the actor
        window = ctx.t_or(f"dash.window.{news.event.actor}", ctx.t("dash.window.other"))
        return {
            "kind": news.kind,
            "ticket": ticket.id,
            "title": ctx.t("dash.live.held", guest=guest_label(ctx, ticket.guest_id, news.guest_name), window=window),
            "text": news.event.note[:300],
            "url": f"/staff/guests/{ticket.guest_id}",
        }
    what = f"{category(ctx, ticket.category)} · {department(ctx, ticket.department)}"
    return {
        "kind": news.kind,
        "ticket": ticket.id,
        "title": ctx.t(f"dash.live.{news.kind}", ticket=ticket.id, what=what),
        "text": (news.event.note or ticket.summary)[:300],
        "url": f"/staff/tickets/{ticket.id}",
    }


@guarded("agent")
async def events(ctx: StaffContext) -> web.StreamResponse:
    """The member's stream: one SSE message per happening they may see, comments as heartbeats."""
    feed = ctx.request.app[LIVE_KEY]
    response = web.StreamResponse(headers={
        "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-store", "X-Accel-Buffering": "no",
        "X-Content-Type-Options": "nosniff",
    })
    await response.prepare(ctx.request)
    queue = await feed.subscribe()
    try:
        await response.write(b"retry: 3000\n: connected\n\n")
        while True:
            try:
                news = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            if news is None:
                break
            if not can_see(ctx.user, news.ticket):
                continue
            data = json.dumps(_worded(ctx, news), ensure_ascii=False)
            await response.write(f"id: {news.id}\nevent: {news.kind}\ndata: {data}\n\n".encode())
    except ConnectionResetError:
        pass  # the browser went away: nothing to tidy but the subscription
    finally:
        feed.unsubscribe(queue)
    return response
