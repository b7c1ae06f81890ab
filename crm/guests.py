"""Guests and the channel identities that reach them."""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from crm.models import Booking, ChannelIdentity, ConversationState, Guest, Message, Outbox, Preference, Survey, Ticket


async def find_identity(session: AsyncSession, channel: str, external_id: str) -> ChannelIdentity | None:
    result = await session.execute(
        select(ChannelIdentity).where(ChannelIdentity.channel == channel, ChannelIdentity.external_id == external_id)
    )
    return result.scalar_one_or_none()


async def identify_guest(
    session: AsyncSession,
    channel: str,
    external_id: str,
    *,
    chat_id: str | None = None,
    display_name: str = "",
    language: str = "zh-Hans",
) -> tuple[Guest, bool]:
    """The guest behind a channel identity, created on first contact. Returns (guest, created)."""
    found = (
        await session.execute(
            select(ChannelIdentity, Guest)
            .join(Guest, Guest.id == ChannelIdentity.guest_id)  # type: ignore[arg-type]
            .where(ChannelIdentity.channel == channel, ChannelIdentity.external_id == external_id)
        )
    ).first()
    if found is not None:  # the usual case, in one round trip
        identity, guest = found
        if chat_id and identity.chat_id != chat_id:
            identity.chat_id = chat_id
        return guest, False
    guest = Guest(name=display_name[:200], language=language)
    session.add(guest)
    await session.flush()
    assert guest.id is not None
    identity = ChannelIdentity(
        channel=channel, external_id=external_id, chat_id=chat_id, display_name=display_name[:200], guest_id=guest.id
    )
    try:
        async with session.begin_nested():
            session.add(identity)
    except IntegrityError:  # another worker created it first (PostgreSQL); use theirs
        await session.delete(guest)
        existing = await find_identity(session, channel, external_id)
        assert existing is not None
        found = await session.get(Guest, existing.guest_id)
        assert found is not None
        return found, False
    return guest, True


async def identities_of(session: AsyncSession, guest_id: int) -> list[ChannelIdentity]:
    result = await session.execute(
        select(ChannelIdentity).where(ChannelIdentity.guest_id == guest_id).order_by(ChannelIdentity.id)
    )
    return list(result.scalars())


async def remember_preference(
    session: AsyncSession, guest_id: int, key: str, value: str, *, source: str, message_id: int | None
) -> Preference:
    """Store or update one preference, keeping where it came from."""
    result = await session.execute(select(Preference).where(Preference.guest_id == guest_id, Preference.key == key))
    preference = result.scalar_one_or_none()
    if preference is None:
        preference = Preference(guest_id=guest_id, key=key, value=value, source=source, message_id=message_id)
        session.add(preference)
    else:
        preference.value, preference.source, preference.message_id = value, source, message_id
    await session.flush()
    return preference


async def preferences_of(session: AsyncSession, guest_id: int) -> list[Preference]:
    result = await session.execute(select(Preference).where(Preference.guest_id == guest_id).order_by(Preference.key))
    return list(result.scalars())


async def stated_language(session: AsyncSession, guest_id: int) -> str | None:
    """The language the guest chose explicitly (/language), which outranks detection."""
    result = await session.execute(
        select(Preference.value).where(
            Preference.guest_id == guest_id, Preference.key == "language", Preference.source == "stated"
        )
    )
    return result.scalar_one_or_none()


async def join_guest(session: AsyncSession, source_id: int, target_id: int) -> None:
    """One person, two profiles: a guest new on one channel (WeChat, LINE…) proved to be the booker of a
    profile we already hold. The new profile's identities, conversation, tickets, bookings, queued
    messages and preferences move to the existing one, which they use from now on; the emptied profile
    stays behind (nothing points at it any more) so no history row loses its guest."""
    if source_id == target_id:
        return
    for table in (ChannelIdentity, Message, Ticket, Booking, Outbox, Survey):
        await session.execute(
            update(table).where(table.guest_id == source_id).values(guest_id=target_id)  # type: ignore[attr-defined]
        )
    held = select(Preference.key).where(Preference.guest_id == target_id)
    await session.execute(  # what the existing profile already knows wins
        delete(Preference).where(Preference.guest_id == source_id, Preference.key.in_(held))  # type: ignore[attr-defined]
    )
    await session.execute(update(Preference).where(Preference.guest_id == source_id).values(guest_id=target_id))  # type: ignore[arg-type]
    source, target = await session.get(ConversationState, source_id), await session.get(ConversationState, target_id)
    if source is not None and target is not None:  # the conversation goes on where this turn left it
        target.flow, target.step, target.slots, target.handoff = source.flow, source.step, dict(source.slots), source.handoff
