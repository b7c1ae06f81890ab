"""Alerts for the staff chat. Written to the outbox as channel ``staff``; bot/ decides where that is."""

from __future__ import annotations

from crm.models import Outbox, Ticket
from crm.outbox import enqueue
from handlers.context import Turn


async def alert_staff(turn: Turn, ticket: Ticket, words: str, *, key: str = "staff.alert") -> None:
    """Post the ticket to staff with the guest's own words, in the staff's language."""
    locale = turn.staff_locale
    catalog = turn.catalog
    text = catalog.text(
        locale,
        key,
        ticket=ticket.id,
        category=catalog.text(locale, f"category.{ticket.category}"),
        priority=catalog.text(locale, f"priority.{ticket.priority}"),
        guest=turn.guest.name or catalog.text(locale, "staff.unknown_guest"),
        room=ticket.room_number or catalog.text(locale, "staff.unknown_room"),
        channel=turn.inbound.channel,
        text=words[:1500],
    )
    await enqueue(turn.session, Outbox(channel="staff", kind="staff", text=text, ticket_id=ticket.id, guest_id=turn.guest.id))
