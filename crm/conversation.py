"""Conversation state, kept in the database so a restart resumes a flow where the guest left it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from crm.guests import identify_guest, stated_language
from crm.models import ChannelIdentity, ConversationState, Guest, Message, Preference
from crm.types import UTCDateTime, utcnow


def _recent_inbound(guest_id: Any, since: Any) -> Any:
    """How many messages the guest sent since ``since`` (flood control)."""
    return select(func.count()).select_from(Message).where(
        Message.guest_id == guest_id, Message.direction == "in", Message.created_at > since  # type: ignore[operator]
    )


def _returning_guest() -> Any:
    """Identity, guest, conversation (locked), stated language and recent message count in one query;
    built once, with parameters, because building it cost as much as running it."""
    stated = (
        select(Preference.value)
        .where(Preference.guest_id == Guest.id, Preference.key == "language", Preference.source == "stated")
        .scalar_subquery()
    )
    recent = _recent_inbound(Guest.id, bindparam("since")).scalar_subquery()
    return (
        select(ChannelIdentity, Guest, ConversationState, stated, recent)
        .join(Guest, Guest.id == ChannelIdentity.guest_id)  # type: ignore[arg-type]
        .join(ConversationState, ConversationState.guest_id == Guest.id)  # type: ignore[arg-type]
        .where(ChannelIdentity.channel == bindparam("channel"), ChannelIdentity.external_id == bindparam("external_id"))
        .with_for_update(of=ConversationState)  # type: ignore[arg-type]
    )


_RETURNING_GUEST = _returning_guest()
# What a guest waiting for a first answer has been told (``ConversationState.waiting_notice``).
EXPECT_TOLD = 1  # the first-response time, when they asked for a person
LATE_TOLD = 2  # that it runs late: never more after this
_STATE = ConversationState.__table__  # type: ignore[attr-defined]
_TOUCH = (
    update(_STATE).where(_STATE.c.guest_id == bindparam("guest"))
    .values(updated_at=bindparam("now", type_=UTCDateTime()))
)


@dataclass
class Opened:
    """What a guest turn starts from."""

    guest: Guest
    state: ConversationState  # locked for the turn (PostgreSQL): one turn at a time per guest
    stated_language: str | None  # chosen with /language; outranks detection
    recent_inbound: int  # the guest's messages stored since ``since`` (flood control), this one not included
    first_contact: bool = False  # the identity was created by this turn


async def open_turn(
    session: AsyncSession, channel: str, external_id: str, *, since: datetime,
    chat_id: str | None = None, display_name: str = "", language: str = "zh-Hans",
) -> Opened:
    """The guest behind a channel identity with their conversation, in one query for a returning guest
    (four otherwise: a turn's fixed cost is most of a busy bot's CPU). First contact creates them."""
    found = (await session.execute(
        _RETURNING_GUEST, {"channel": channel, "external_id": external_id, "since": since}
    )).first()
    if found is not None:
        identity, guest, state, language_stated, count = found
        if chat_id and identity.chat_id != chat_id:
            identity.chat_id = chat_id
        return Opened(guest, state, language_stated, int(count or 0))
    guest, _ = await identify_guest(
        session, channel, external_id, chat_id=chat_id, display_name=display_name, language=language
    )
    assert guest.id is not None
    state = await load_state(session, guest.id)
    count = (await session.execute(_recent_inbound(guest.id, since))).scalar_one()
    return Opened(guest, state, await stated_language(session, guest.id), int(count), first_contact=True)


async def load_state(session: AsyncSession, guest_id: int) -> ConversationState:
    state = await session.get(ConversationState, guest_id, with_for_update=True)  # one turn at a time per guest
    if state is None:
        state = ConversationState(guest_id=guest_id, slots={})
        session.add(state)
        await session.flush()
    return state


async def touch(session: AsyncSession, guest_id: int) -> None:
    """Mark the conversation active now (a flow left idle expires from here). A Core statement: on a
    plain turn it is the only change to the row, and the ORM's flush of one column costs more than the SQL."""
    connection = await session.connection()
    await connection.execute(_TOUCH, {"guest": guest_id, "now": utcnow()})


def hand_to_staff(state: ConversationState, ticket_id: int) -> None:
    """The guest asked for a person: staff hold the conversation on this ticket, nobody has answered yet."""
    state.handoff, state.handoff_ticket_id, state.staff_id, state.staff_active_at = True, ticket_id, None, None
    state.flow, state.step, state.slots = None, None, {}
    state.low_confidence_streak = 0


async def take_over(session: AsyncSession, guest_id: int, ticket_id: int, staff_id: int, now: datetime) -> None:
    """A staff member wrote to the guest: the conversation is theirs, on the ticket they wrote on (the
    guest's next words answer them, not the bot) until they resolve, hand it back or fall silent. A flow
    the bot was in is dropped."""
    state = await load_state(session, guest_id)
    state.handoff, state.handoff_ticket_id, state.staff_id, state.staff_active_at = True, ticket_id, staff_id, now
    state.waiting_notice = 0
    state.flow, state.step, state.slots = None, None, {}
    state.low_confidence_streak = 0


def clear_handoff(state: ConversationState) -> None:
    state.handoff, state.handoff_ticket_id, state.staff_id, state.staff_active_at = False, None, None, None
    state.waiting_notice = 0
    state.low_confidence_streak = 0


async def release_handoff(session: AsyncSession, guest_id: int, ticket_id: int | None = None) -> bool:
    """Staff hand the conversation back: the bot answers for itself again. With ``ticket_id``, only when
    the conversation is held on that ticket (resolving another ticket of the guest's leaves it with staff).
    True when it was with staff."""
    state = await load_state(session, guest_id)
    if not state.handoff or (ticket_id is not None and state.handoff_ticket_id not in (None, ticket_id)):
        return False
    clear_handoff(state)
    await touch(session, guest_id)
    return True


_HELD_BY_STAFF = _STATE.c.handoff.is_(True)
_CLEARED = {"handoff": False, "handoff_ticket_id": None, "staff_id": None, "staff_active_at": None,
            "waiting_notice": 0, "low_confidence_streak": 0}  # as ``clear_handoff`` leaves it


async def release_if_silent(session: AsyncSession, guest_id: int, silent_since: datetime) -> bool:
    """The bot takes the conversation back when its staff holder has not written since ``silent_since``.
    One conditional update: a staff reply, a guest turn or another sweep that got there first leaves it
    as it is, and the caller then tells nobody. True when this call released it."""
    connection = await session.connection()
    result = await connection.execute(
        update(_STATE)
        .where(_STATE.c.guest_id == guest_id, _HELD_BY_STAFF, _STATE.c.staff_id.is_not(None),
               _STATE.c.staff_active_at < silent_since)
        .values(**_CLEARED)
    )
    return bool(result.rowcount)


async def mark_told_late(session: AsyncSession, guest_id: int, ticket_id: int) -> bool:
    """Record that the guest waiting on ``ticket_id`` for a first answer has been told it runs late — only
    if nobody answered and they were not told yet (the same conditional update guards the turn and every
    sweep). True when this call recorded it."""
    connection = await session.connection()
    result = await connection.execute(
        update(_STATE)
        .where(_STATE.c.guest_id == guest_id, _HELD_BY_STAFF, _STATE.c.staff_id.is_(None),
               _STATE.c.handoff_ticket_id == ticket_id, _STATE.c.waiting_notice < LATE_TOLD)
        .values(waiting_notice=LATE_TOLD)
    )
    return bool(result.rowcount)
