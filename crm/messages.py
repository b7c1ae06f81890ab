"""The conversation log: every inbound and outbound line."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from crm.models import ChannelIdentity, Message
from crm.rows import row_values

# Built once: a guest turn writes its lines as plain Core statements (see bot.pipeline)
_TABLE = Message.__table__  # type: ignore[attr-defined]
_INSERT = insert(_TABLE)
_INSERT_RETURNING_ID = insert(_TABLE).returning(_TABLE.c.id)
_SET_TICKET = update(_TABLE).where(_TABLE.c.id == bindparam("message_id")).values(ticket_id=bindparam("ticket"))


async def log_message(session: AsyncSession, message: Message) -> Message:
    session.add(message)
    await session.flush()
    return message


async def add_line(session: AsyncSession, **values: Any) -> int:
    """Insert one line of the log; returns its id. Anything the session holds is flushed first, so ids
    keep the order in which things happened."""
    await session.flush()
    connection = await session.connection()
    return int((await connection.execute(_INSERT_RETURNING_ID, row_values(Message, **values))).scalar_one())


async def add_lines(session: AsyncSession, lines: list[dict[str, Any]]) -> None:
    """Insert several lines (``crm.rows.row_values(Message, …)``) in one statement."""
    if lines:
        await session.flush()
        connection = await session.connection()
        await connection.execute(_INSERT, lines)


async def link_ticket(session: AsyncSession, message_id: int, ticket_id: int) -> None:
    connection = await session.connection()
    await connection.execute(_SET_TICKET, {"message_id": message_id, "ticket": ticket_id})


async def history(session: AsyncSession, guest_id: int, *, limit: int = 50, after_id: int = 0) -> list[Message]:
    result = await session.execute(
        select(Message)
        .where(Message.guest_id == guest_id, Message.id > after_id)  # type: ignore[operator]
        .order_by(Message.id.desc())  # type: ignore[union-attr]
        .limit(limit)
    )
    return list(reversed(list(result.scalars())))


async def offered_buttons(session: AsyncSession, guest_id: int, channel: str) -> list[dict[str, str]]:
    """The choices of the bot's latest turn on a channel (the last of its lines that offered any): what a
    guest answering "2" on a channel without buttons is choosing from."""
    result = await session.execute(
        select(Message.inbox_id, Message.author, Message.analysis)
        .where(Message.guest_id == guest_id, Message.channel == channel, Message.direction == "out")
        .order_by(Message.id.desc())  # type: ignore[union-attr]
        .limit(8)
    )
    rows = result.all()
    if not rows or rows[0][1] != "bot":  # staff wrote since: the old choices are no longer in front of the guest
        return []
    latest = rows[0][0]
    for inbox_id, author, analysis in rows:
        if inbox_id != latest or author != "bot":
            break
        if analysis.get("buttons"):
            return list(analysis["buttons"])
    return []


async def last_heard(session: AsyncSession, channel: str, chat_id: str) -> datetime | None:
    """When the guest behind a chat last wrote to us on that channel: platforms that only let a business
    answer within a window after it (WhatsApp 24 h, WeChat 48 h) count from here."""
    result = await session.execute(
        select(func.max(Message.created_at))
        .join(ChannelIdentity, ChannelIdentity.guest_id == Message.guest_id)  # type: ignore[arg-type]
        .where(ChannelIdentity.channel == channel, ChannelIdentity.chat_id == chat_id,
               Message.channel == channel, Message.direction == "in")
    )
    value: datetime | None = result.scalar_one_or_none()
    return value


def summarise_analysis(analysis: dict[str, Any]) -> dict[str, Any]:
    """The columns we index out of an analysis, so reports need not parse JSON."""
    return {
        "language": analysis.get("lang"),
        "category": analysis.get("category"),
        "sentiment": analysis.get("sentiment"),
        "confidence": analysis.get("confidence"),
    }
