"""Flood control per guest: past the limit one polite notice, then silence until the minute has passed.

Counted from the store, not from memory, so it holds across several workers. Every message is still
logged — nothing a guest writes is lost — it just is not acted on while they flood.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func
from sqlmodel import select

from crm.models import Message
from handlers.context import Turn

LIMIT_PER_MINUTE = 20
WINDOW = timedelta(minutes=1)


async def flooding(turn: Turn) -> bool:
    """True when this message is over the limit; says so once per flood."""
    since = turn.now - WINDOW
    count = (
        await turn.session.execute(
            select(func.count()).select_from(Message).where(
                Message.guest_id == turn.guest.id, Message.direction == "in", Message.created_at > since  # type: ignore[operator]
            )
        )
    ).scalar_one()
    if count <= LIMIT_PER_MINUTE:
        return False
    if count == LIMIT_PER_MINUTE + 1:
        turn.say("flood.notice")
    return True
