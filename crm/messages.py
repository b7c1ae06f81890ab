"""The conversation log: every inbound and outbound line."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from crm.models import Message


async def log_message(session: AsyncSession, message: Message) -> Message:
    session.add(message)
    await session.flush()
    return message


async def history(session: AsyncSession, guest_id: int, *, limit: int = 50, after_id: int = 0) -> list[Message]:
    result = await session.execute(
        select(Message)
        .where(Message.guest_id == guest_id, Message.id > after_id)  # type: ignore[operator]
        .order_by(Message.id.desc())  # type: ignore[union-attr]
        .limit(limit)
    )
    return list(reversed(list(result.scalars())))


def summarise_analysis(analysis: dict[str, Any]) -> dict[str, Any]:
    """The columns we index out of an analysis, so reports need not parse JSON."""
    return {
        "language": analysis.get("lang"),
        "category": analysis.get("category"),
        "sentiment": analysis.get("sentiment"),
        "confidence": analysis.get("confidence"),
    }
