"""The durable inbox: raw channel updates, committed before the channel is told they arrived."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from crm.db import Database
from crm.models import InboxUpdate
from crm.types import UTCDateTime, utcnow

MAX_ATTEMPTS = 5
_TABLE = InboxUpdate.__table__  # type: ignore[attr-defined]
_CLAIM = (  # built once (see claim)
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("inbox_id"), _TABLE.c.status == "pending")
    .values(status="done", attempts=_TABLE.c.attempts + 1, processed_at=bindparam("now", type_=UTCDateTime()))
    .returning(_TABLE.c.payload)
)


async def accept(
    db: Database, channel: str, update_id: str, chat_key: str, payload: dict[str, Any]
) -> tuple[int, bool]:
    """Commit an update; returns (inbox id, is_new). A duplicate delivery returns the first row's id."""
    return (await accept_many(db, channel, [(update_id, chat_key, payload)]))[0]


async def accept_many(
    db: Database, channel: str, updates: list[tuple[str, str, dict[str, Any]]]
) -> list[tuple[int, bool]]:
    """Commit a batch of (update_id, chat_key, payload) in one transaction; (inbox id, is_new) for each,
    in order. Long polling hands over up to 100 updates at once: one commit instead of a hundred."""
    if not updates:
        return []
    insert = sqlite_insert if db.is_sqlite else postgresql_insert
    now = utcnow()
    async with db.write(short=True) as session:
        statement = (
            insert(InboxUpdate)
            .values([
                {"channel": channel, "update_id": update_id, "chat_key": chat_key, "payload": payload,
                 "status": "pending", "attempts": 0, "received_at": now}
                for update_id, chat_key, payload in updates
            ])
            .on_conflict_do_nothing(index_elements=["channel", "update_id"])
            .returning(InboxUpdate.id, InboxUpdate.update_id)
        )
        inserted = {str(update_id): int(inbox_id) for inbox_id, update_id in (await session.execute(statement)).all()}
        missing = [update_id for update_id, _, _ in updates if update_id not in inserted]
        existing: dict[str, int] = {}
        if missing:
            rows = await session.execute(
                select(InboxUpdate.id, InboxUpdate.update_id).where(
                    InboxUpdate.channel == channel, InboxUpdate.update_id.in_(missing)  # type: ignore[attr-defined]
                )
            )
            existing = {str(update_id): int(inbox_id) for inbox_id, update_id in rows.all()}
    return [
        (inserted[update_id], True) if update_id in inserted else (existing[update_id], False)
        for update_id, _, _ in updates
    ]


async def claim(session: AsyncSession, inbox_id: int) -> dict[str, Any] | None:
    """Mark the update done inside the transaction that processes it, and return its payload; None when
    it no longer needs processing. Done and the processing's effects commit together, or neither does.
    On PostgreSQL the UPDATE holds the row: a second worker waits, then finds it done."""
    connection = await session.connection()  # a plain Core statement: no ORM bookkeeping on the hot path
    result = await connection.execute(_CLAIM, {"inbox_id": inbox_id, "now": utcnow()})
    payload: dict[str, Any] | None = result.scalar_one_or_none()
    return payload


async def record_failure(db: Database, inbox_id: int, error: str, *, give_up: bool = False) -> bool:
    """Count a failed attempt outside the rolled-back transaction; returns True when it gave up."""
    async with db.write(short=True) as session:
        row = await session.get(InboxUpdate, inbox_id)
        if row is None or row.status != "pending":
            return False
        row.attempts += 1
        row.error = error[:500]
        if give_up or row.attempts >= MAX_ATTEMPTS:
            row.status = "failed"
            row.processed_at = utcnow()
            return True
        return False


async def pending_ids(
    db: Database, channel: str | None = None, *, received_before: datetime | None = None
) -> list[tuple[int, str, str]]:
    """(id, channel, chat key) of updates accepted but not yet processed — the work a crash left behind.
    The chat key lets a recovered update take its chat's turn before a newer message from the same chat."""
    async with db.read() as session:
        query = select(InboxUpdate.id, InboxUpdate.channel, InboxUpdate.chat_key).where(InboxUpdate.status == "pending")
        if channel:
            query = query.where(InboxUpdate.channel == channel)
        if received_before is not None:
            query = query.where(InboxUpdate.received_at < received_before)  # type: ignore[operator]
        result = await session.execute(query.order_by(InboxUpdate.id))
        return [(int(row[0]), str(row[1]), str(row[2])) for row in result]


async def mark_status(db: Database, inbox_id: int, status: str) -> None:
    async with db.write(short=True) as session:
        await session.execute(
            update(InboxUpdate).where(InboxUpdate.id == inbox_id).values(status=status, processed_at=utcnow())
        )
