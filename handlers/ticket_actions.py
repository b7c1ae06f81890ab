"""What follows when staff resolve a ticket, whichever way they did it (Telegram card, /resolve, dashboard).

The store records the resolution (crm.ticket_work); here the guest side follows: the conversation goes
back to the bot, and a complaint gets step 5 of the hotel's procedure — the guest is asked whether it is
really solved (handlers.tickets.follow_up, wording from the catalogs).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from crm.conversation import release_handoff
from crm.models import Guest, StaffUser, Ticket
from crm.ticket_work import resolve
from handlers.i18n import Catalog
from handlers.tickets import follow_up


async def resolve_ticket(
    session: AsyncSession, catalog: Catalog, user: StaffUser, ticket_id: int, root_cause: str = ""
) -> Ticket:
    ticket = await resolve(session, user, ticket_id, root_cause)
    await release_handoff(session, ticket.guest_id)
    if ticket.category == "complaint":
        guest = await session.get(Guest, ticket.guest_id)
        await follow_up(session, catalog, ticket, guest.language if guest else "zh-Hans")
    return ticket
