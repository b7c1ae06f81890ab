"""What follows when staff resolve a ticket or hand a conversation back, whichever way they did it
(Telegram card, /resolve, dashboard).

The store records the resolution (crm.ticket_work); here the guest side follows: the conversation goes
back to the bot — and the guest is told so — and a complaint gets step 5 of the hotel's procedure: the
guest is asked whether it is really solved (handlers.tickets.follow_up, wording from the catalogs).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from crm.conversation import release_handoff
from crm.models import Guest, StaffUser, Ticket
from crm.ticket_work import OPEN_STATUSES, WorkError, actor_of, get_for, resolve, tell_guest
from crm.tickets import add_event
from handlers.i18n import Catalog
from handlers.tickets import follow_up


async def resolve_ticket(
    session: AsyncSession, catalog: Catalog, user: StaffUser, ticket_id: int, root_cause: str = ""
) -> Ticket:
    ticket = await resolve(session, user, ticket_id, root_cause)
    guest = await session.get(Guest, ticket.guest_id)
    locale = guest.language if guest else "zh-Hans"
    released = await release_handoff(session, ticket.guest_id, ticket.id)
    if ticket.category == "complaint":
        await follow_up(session, catalog, ticket, locale)
    elif released:
        await _tell_guest(session, catalog, ticket, locale, "handoff.returned")
    return ticket


async def hand_back(session: AsyncSession, catalog: Catalog, user: StaffUser, ticket_id: int) -> Ticket:
    """Staff give the conversation back to the bot without resolving the ticket (the guest is told)."""
    ticket = await get_for(session, user, ticket_id, lock=True)
    if ticket.status not in OPEN_STATUSES:
        raise WorkError("closed", ticket=ticket_id)
    if not await release_handoff(session, ticket.guest_id, ticket.id):
        raise WorkError("not_held", ticket=ticket_id)
    await add_event(session, ticket, "returned_to_bot", actor=actor_of(user), note=user.name)
    guest = await session.get(Guest, ticket.guest_id)
    await _tell_guest(session, catalog, ticket, guest.language if guest else "zh-Hans", "handoff.returned")
    return ticket


async def _tell_guest(session: AsyncSession, catalog: Catalog, ticket: Ticket, locale: str, key: str) -> None:
    await tell_guest(session, ticket, catalog.text(locale, key))
