"""Alerts for the staff chat. Written to the outbox as channel ``staff``; bot/ decides where that is."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from crm.models import Guest, Outbox, Ticket
from crm.outbox import enqueue
from crm.ticket_work import readers_language
from handlers.context import Turn
from handlers.i18n import Catalog

UNCERTAIN_LISTED = 20  # lines in one notice; the rest are counted in its title


async def alert_staff(
    turn: Turn, ticket: Ticket, words: str, *, key: str = "staff.alert", locale: str | None = None
) -> None:
    """Post the ticket to staff with the guest's own words, in the staff's language: the holder's when a
    staff member holds the conversation, else the one its readers share, else the hotel's."""
    if locale not in turn.hotel.languages:
        locale = await readers_language(turn.session, ticket)
    locale = locale if locale in turn.hotel.languages else turn.staff_locale
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


async def report_uncertain(
    session: AsyncSession, catalog: Catalog, locale: str, zone: ZoneInfo, rows: Sequence[Outbox]
) -> None:
    """Tell staff which guest messages may not have arrived (a crash mid-send; see crm.outbox): they
    are never resent automatically, so a person has to check."""
    to_guests = [row for row in rows if row.guest_id is not None and row.channel not in ("staff", "card")]
    if not to_guests:
        return
    lines = [catalog.text(locale, "staff.uncertain.title", count=len(to_guests))]
    for row in to_guests[:UNCERTAIN_LISTED]:
        guest = await session.get(Guest, row.guest_id)
        lines.append(catalog.text(
            locale, "staff.uncertain.line",
            guest=(guest.name if guest and guest.name else catalog.text(locale, "staff.unknown_guest")),
            channel=row.channel, time=row.created_at.astimezone(zone).strftime("%m-%d %H:%M"), text=row.text[:200],
        ))
    await enqueue(session, Outbox(channel="staff", kind="staff", text="\n".join(lines)))
