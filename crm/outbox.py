"""The outbox: every message that must leave, with its delivery state.

Rows are claimed with a lease (status ``sending`` and ``next_attempt_at`` in the future) so that a
crashed sender's rows come back: replies are retried, campaign messages become ``unknown`` — Telegram's
sendMessage has no idempotency key, and greeting a guest twice is worse than asking staff to check.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, false, func, insert, true, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from crm.db import Database
from crm.models import Outbox, Ticket
from crm.tickets import add_event
from crm.types import UTCDateTime, utcnow

_TABLE = Outbox.__table__  # type: ignore[attr-defined]
LEASE = timedelta(seconds=30)  # renewed while the sender holds the row (renew_leases)
INFLIGHT = "inflight"  # a campaign row whose send request has left (see mark_attempt)
MAX_ATTEMPTS = 6


_WRITTEN = "concierge.outbox_written"


def outbox_written(session: AsyncSession) -> bool:
    """Whether this transaction queued anything, so the sender need only be woken when it did."""
    return bool(session.info.get(_WRITTEN))


async def enqueue(session: AsyncSession, row: Outbox) -> Outbox | None:
    """Add a row; with a dedupe key already present, nothing is added and None is returned. Without a
    dedupe key the row is inserted with the transaction's other rows (its id is set at the next flush)."""
    session.info[_WRITTEN] = True
    if row.dedupe_key is None:
        session.add(row)
        return row
    try:
        async with session.begin_nested():
            session.add(row)
        return row
    except IntegrityError:
        return None


async def enqueue_rows(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Queue rows without dedupe keys in one statement (``crm.rows.row_values`` builds them)."""
    if rows:
        session.info[_WRITTEN] = True
        connection = await session.connection()
        await connection.execute(insert(_TABLE), rows)


# Claim order: what a guest is waiting for, then staff alerts and the rest, then campaigns. Each lane is
# its own indexed scan (ix_outbox_lane) with its own room, so a campaign backlog of 100 000 rows never sits
# in front of a reply, and a staff alert storm never takes the room replies need.
REPLY_KINDS = ("reply",)
BULK_KINDS = ("campaign",)
LANES = ("reply", "alert", "bulk")
PER_CHAT = 10  # rows of one chat per claim: a paced chat (a group, 3 s apart) cannot fill a batch


def lane_of(kind: str) -> str:
    return "reply" if kind in REPLY_KINDS else "bulk" if kind in BULK_KINDS else "alert"


def _lane(name: str) -> Any:
    kind = Outbox.kind
    if name == "reply":
        return kind.in_(REPLY_KINDS)  # type: ignore[attr-defined]
    if name == "bulk":
        return kind.in_(BULK_KINDS)  # type: ignore[attr-defined]
    return kind.not_in(REPLY_KINDS + BULK_KINDS)  # type: ignore[attr-defined]


def chat_key(row: Outbox) -> tuple[str, str]:
    """The queue a row waits in: rows of one chat leave in order, one after the other."""
    return row.channel, row.chat_id or ""


async def claim_due(
    db: Database, *, limit: int | Mapping[str, int] = 200, channels: tuple[str, ...] = (),
    only_chats: Mapping[str, Collection[str]] | None = None, busy: Collection[tuple[str, str]] = (),
    per_chat: int = PER_CHAT, now: datetime | None = None,
) -> list[Outbox]:
    """Lease due rows and return them: lane by lane (``LANES``), up to ``limit`` rows in each (one number
    for all lanes, or one per lane name), oldest first within a lane, at most ``per_chat`` of one chat;
    none of the chats in ``busy`` (the caller is still sending their earlier rows: a chat's next rows wait
    for those, other chats do not), nor of chats another worker has rows in flight for. ``only_chats``
    limits a channel to the chats this process can reach (web sockets are held by one worker: rows for a
    guest connected to another worker are left for that one)."""
    now = now or utcnow()
    due = (Outbox.status == "pending") & (Outbox.next_attempt_at <= now)  # type: ignore[operator]
    if channels or only_chats:
        due = due & _reachable(channels, only_chats or {})
    async with db.read(short=True) as session:  # most rounds find nothing: don't take the write lock for that
        if (await session.execute(select(Outbox.id).where(due & _not_busy(busy)).limit(1))).first() is None:
            return []
    async with db.write(short=True) as session:
        # chats another worker is sending to now count as busy too: their order and pacing stay with it
        sending = await session.execute(
            select(Outbox.channel, Outbox.chat_id).where(Outbox.status.in_(("sending", INFLIGHT))).distinct()  # type: ignore[attr-defined]
        )
        due = due & _not_busy({*busy, *((channel, chat or "") for channel, chat in sending.all())})
        rows: list[Outbox] = []
        taken: dict[tuple[str, str], int] = {}
        for lane in LANES:
            room = limit.get(lane, 0) if isinstance(limit, Mapping) else limit - len(rows)
            if room <= 0:
                continue
            query = select(Outbox).where(due & _lane(lane)).order_by(Outbox.id).limit(3 * room + per_chat)  # type: ignore[arg-type]
            if not db.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            for row in (await session.execute(query)).scalars():
                key = chat_key(row)
                if taken.get(key, 0) < per_chat and room > 0:
                    taken[key] = taken.get(key, 0) + 1
                    rows.append(row)
                    room -= 1
        if rows:  # one statement for the whole batch, not one per row
            await session.execute(
                update(Outbox)
                .where(Outbox.id.in_([row.id for row in rows]))  # type: ignore[union-attr]
                .values(status="sending", attempts=Outbox.attempts + 1, next_attempt_at=now + LEASE)
                .execution_options(synchronize_session=False)
            )
        for row in rows:
            row.status, row.attempts, row.next_attempt_at = "sending", row.attempts + 1, now + LEASE
        return rows


def _not_busy(busy: Collection[tuple[str, str]]) -> Any:
    if not busy:
        return true()
    return tuple_(Outbox.channel, func.coalesce(Outbox.chat_id, "")).not_in(list(busy))


async def renew_leases(db: Database, outbox_ids: Collection[int], now: datetime | None = None) -> None:
    """Rows this sender still holds (waiting for their chat's pacing, a ``retry_after``, or in flight) keep
    their lease: another worker's recovery must never take a row back while it may still be sent here."""
    if not outbox_ids:
        return
    async with db.write(urgent=True, short=True) as session:
        await session.execute(
            update(Outbox)
            .where(Outbox.id.in_(list(outbox_ids)), Outbox.status.in_(("sending", INFLIGHT)))  # type: ignore[union-attr,attr-defined]
            .values(next_attempt_at=(now or utcnow()) + LEASE)
            .execution_options(synchronize_session=False)
        )


async def release(db: Database, outbox_ids: Collection[int]) -> None:
    """Claimed rows this sender will not send after all (it is stopping): due again at once, for anyone.
    Rows already in flight are left to the recovery (their outcome is unknown)."""
    if not outbox_ids:
        return
    async with db.write(short=True) as session:
        await session.execute(
            update(Outbox)
            .where(Outbox.id.in_(list(outbox_ids)), Outbox.status == "sending")  # type: ignore[union-attr]
            .values(status="pending", next_attempt_at=utcnow(), attempts=Outbox.attempts - 1)
            .execution_options(synchronize_session=False)
        )


async def fold(db: Database, folded: list[tuple[int, Outbox]]) -> None:
    """Staff alerts beyond their chat's rate are not posted alone: each (row id, digest) pair counts the row
    in the digest (one row per chat and window, queued by the first alert folded into it, due when the
    window ends). Marked and queued in one transaction, so an alert is never both dropped and uncounted."""
    if not folded:
        return
    async with db.write(short=True) as session:
        connection = await session.connection()
        await connection.execute(
            update(_TABLE).where((_TABLE.c.id == bindparam("row")) & (_TABLE.c.status == "sending"))
            .values(status="folded", external_id=bindparam("digest"), last_error=None),
            [{"row": row, "digest": digest.dedupe_key} for row, digest in folded],
        )
        for digest in {digest.dedupe_key: digest for _row, digest in folded}.values():
            await enqueue(session, digest)


async def alerts_sent_since(db: Database, chat: str, since: datetime) -> int:
    """Ticket alerts posted to staff chat ``chat`` since ``since``, by any worker. Read through the lane
    index (status, kind, due time): an alert queued before ``since`` and sent after it is not counted."""
    async with db.read(short=True) as session:
        result = await session.execute(
            select(func.count()).select_from(Outbox).where(
                Outbox.status == "sent", Outbox.kind == "staff", Outbox.next_attempt_at >= since,  # type: ignore[arg-type,operator]
                Outbox.sent_at >= since, Outbox.ticket_id.is_not(None),  # type: ignore[operator,union-attr]
                Outbox.external_id.startswith(f"{chat}:", autoescape=True),  # type: ignore[union-attr]
            )
        )
        return int(result.scalar_one())


async def folded_into(session: AsyncSession, digest_key: str) -> list[Outbox]:
    result = await session.execute(
        select(Outbox).where(Outbox.status == "folded", Outbox.external_id == digest_key).order_by(Outbox.id)  # type: ignore[arg-type]
    )
    return list(result.scalars())


def _reachable(channels: tuple[str, ...], only_chats: Mapping[str, Collection[str]]) -> Any:
    free = [channel for channel in channels if channel not in only_chats]
    condition: Any = Outbox.channel.in_(free) if free else false()  # type: ignore[attr-defined]
    for channel, chats in only_chats.items():
        if chats:
            condition = condition | ((Outbox.channel == channel) & Outbox.chat_id.in_(list(chats)))  # type: ignore[union-attr]
    return condition


async def mark_sent(db: Database, sent: list[tuple[int, str | None]]) -> None:
    """Record delivered rows (id, Telegram message id) in one transaction: senders' confirmations that
    arrive together are committed together (see bot.delivery.Coalescer)."""
    if not sent:
        return
    now = utcnow()
    async with db.write(short=True) as session:
        await session.execute(
            update(Outbox),
            [{"id": outbox_id, "status": "sent", "sent_at": now, "external_id": external, "last_error": None}
             for outbox_id, external in sent],
        )


async def mark_retry(db: Database, row: Outbox, error: str, delay: timedelta) -> str:
    """Schedule another attempt, or give up after MAX_ATTEMPTS; returns the new status."""
    status = "pending" if row.attempts < MAX_ATTEMPTS else "failed"
    async with db.write(short=True) as session:
        await session.execute(
            update(Outbox)
            .where(Outbox.id == row.id)  # type: ignore[arg-type]
            .values(status=status, last_error=error[:500], next_attempt_at=utcnow() + delay)
        )
    return status


async def hold_back(db: Database, *, expired: list[int], deferred: list[tuple[int, datetime]]) -> None:
    """Claimed rows that must not go now: ``expired`` ones are given up, ``deferred`` ones (id, until)
    wait again. The claim's attempt did not happen, so it is not counted."""
    claimed = (_TABLE.c.id == bindparam("row")) & (_TABLE.c.status == "sending")
    async with db.write(short=True) as session:
        connection = await session.connection()  # Core executemany: one statement per kind for the batch
        if expired:
            await connection.execute(
                update(_TABLE).where(claimed)
                .values(status="expired", last_error="not sent before it expired", attempts=_TABLE.c.attempts - 1),
                [{"row": row} for row in expired],
            )
        if deferred:
            await connection.execute(
                update(_TABLE).where(claimed)
                .values(status="pending", next_attempt_at=bindparam("until", type_=UTCDateTime()),
                        attempts=_TABLE.c.attempts - 1),
                [{"row": row, "until": until} for row, until in deferred],
            )


async def park_unclaimed(
    db: Database, channel: str, *, due_before: datetime, reachable_here: Collection[str]
) -> int:
    """Rows of a channel that only some processes can deliver (web sockets), or none (staff alerts without
    Telegram), which nobody claimed since ``due_before``: the guest is connected nowhere, or there is no
    staff chat. They are *held* — out of every claim's scan and of the outbox lag — until the guest comes
    back (``crm.ticket_work.release_held``). Chats this process can reach are left alone: it claims them
    itself. Returns how many rows were parked."""
    condition = (_TABLE.c.channel == channel) & (_TABLE.c.status == "pending") & (_TABLE.c.next_attempt_at < due_before)
    if reachable_here:
        condition = condition & _TABLE.c.chat_id.not_in(list(reachable_here))
    async with db.write(short=True) as session:
        connection = await session.connection()
        result = await connection.execute(update(_TABLE).where(condition).values(status="held"))
        return int(result.rowcount or 0)


async def mark(db: Database, outbox_id: int, status: str, error: str | None = None) -> None:
    async with db.write(short=True) as session:
        await session.execute(
            update(Outbox).where(Outbox.id == outbox_id).values(status=status, last_error=error)  # type: ignore[arg-type]
        )


HELD_EVENT = "held"  # the ticket timeline's event for a message its channel would not take now


async def hold(db: Database, row: Outbox, reason: str) -> None:
    """The row may not be sent now (outside the channel's customer-service window, no template): held,
    and — when it belongs to a ticket — an event on the ticket's timeline in the same transaction, which
    the live dashboard announces (bot.staff.live): staff hear of it, it is never silently kept back."""
    async with db.write(short=True) as session:
        await session.execute(
            update(Outbox).where(Outbox.id == row.id).values(status="held", last_error=reason)  # type: ignore[arg-type]
        )
        ticket = await session.get(Ticket, row.ticket_id) if row.ticket_id is not None else None
        if ticket is not None:
            await add_event(session, ticket, HELD_EVENT, actor=row.channel, note=row.text)


async def mark_attempt(db: Database, outbox_ids: list[int]) -> None:
    """The requests that may deliver these rows are about to leave: from now on a crash makes their
    outcome unknown. Claimed rows wait in the rate limiter first (a 200-row batch takes seconds at 25/s);
    only this mark separates "maybe delivered" from "never tried", so a crash mid-campaign skips nobody."""
    if not outbox_ids:
        return
    async with db.write(urgent=True, short=True) as session:  # the send waits for this: ahead of queued guest turns
        await session.execute(
            update(Outbox)
            .where(Outbox.id.in_(outbox_ids), Outbox.status == "sending")  # type: ignore[union-attr]
            .values(status=INFLIGHT)
            .execution_options(synchronize_session=False)
        )


Report = Callable[[AsyncSession, list[Outbox]], Awaitable[None]]


async def recover_expired_leases(db: Database, now: datetime | None = None, report: Report | None = None) -> list[Outbox]:
    """Rows a dead sender left claimed: those whose request had left (``inflight``) become ``unknown`` —
    sendMessage has no idempotency key, and a message twice is worse than one for staff to check — and
    rows that never reached the wire go back to pending. ``report`` writes the notice for staff in the same
    transaction, so a crash cannot leave rows unknown with nobody told. Returns the rows that became unknown."""
    now = now or utcnow()
    async with db.write() as session:
        expired = Outbox.next_attempt_at < now  # type: ignore[operator]
        query = select(Outbox).where(expired, Outbox.status == INFLIGHT).order_by(Outbox.id)  # type: ignore[arg-type]
        if not db.is_sqlite:  # two workers recovering at once: each row is reported by one of them
            query = query.with_for_update(skip_locked=True)
        uncertain = list((await session.execute(query)).scalars())
        for row in uncertain:
            row.status = "unknown"
        await session.execute(
            update(Outbox).where(expired, Outbox.status == "sending").values(status="pending", next_attempt_at=now)
        )
        if uncertain and report is not None:
            await report(session, uncertain)
        return uncertain


async def pending_count(db: Database) -> int:
    async with db.read() as session:
        query = select(func.count()).select_from(Outbox).where(Outbox.status.in_(("pending", "sending")))  # type: ignore[attr-defined]
        return int((await session.execute(query)).scalar_one())
