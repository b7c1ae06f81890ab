"""Conversation state, kept in the database so a restart resumes a flow where the guest left it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from crm.models import ConversationState
from crm.types import utcnow


async def load_state(session: AsyncSession, guest_id: int) -> ConversationState:
    state = await session.get(ConversationState, guest_id, with_for_update=True)  # one turn at a time per guest
    if state is None:
        state = ConversationState(guest_id=guest_id, slots={})
        session.add(state)
        await session.flush()
    return state


def touch(state: ConversationState) -> None:
    state.updated_at = utcnow()


async def release_handoff(session: AsyncSession, guest_id: int) -> None:
    """Staff hand the conversation back: the bot answers for itself again."""
    state = await load_state(session, guest_id)
    state.handoff = False
    state.low_confidence_streak = 0
    touch(state)
