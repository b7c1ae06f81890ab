"""Service requests, complaints, hand-off to a person: each becomes a ticket for the right department."""

from __future__ import annotations

from crm.models import Ticket
from crm.tickets import TicketSpec, add_event, open_ticket
from handlers.context import Turn
from handlers.i18n import localize
from handlers.staff import alert_staff

SERVICE_CATEGORIES = frozenset({"housekeeping", "maintenance", "food_beverage", "front_desk", "billing"})
BOOKING_CATEGORIES = frozenset({"booking", "booking_change", "cancellation"})


def _room(turn: Turn) -> str | None:
    if turn.analysis is not None:
        room = turn.analysis.entities.get("room_number")
        if room:
            turn.guest.room_number = str(room)[:10]
    return turn.guest.room_number


async def _open(turn: Turn, category: str, *, priority: str | None = None) -> Ticket:
    rule = turn.hotel.ticket_categories.get(category) or turn.hotel.ticket_categories["other"]
    if turn.analysis is not None and turn.analysis.urgency == "high" and rule.priority in ("low", "normal"):
        priority = priority or "high"
    spec = TicketSpec(
        guest_id=turn.guest.id or 0,
        category=category,
        department=rule.department,
        priority=priority or rule.priority,
        channel=turn.inbound.channel,
        summary=turn.inbound.text,
        respond_minutes=rule.respond_minutes,
        resolve_minutes=rule.resolve_minutes,
        room_number=_room(turn),
    )
    ticket = await open_ticket(turn.session, spec, now=turn.now)
    turn.ticket_id = ticket.id
    return ticket


def _department_name(turn: Turn, code: str) -> str:
    department = turn.hotel.departments.get(code)
    return localize(department, turn.locale) if department else code


async def service_request(turn: Turn, category: str) -> None:
    ticket = await _open(turn, category)
    rule = turn.hotel.ticket_categories.get(category) or turn.hotel.ticket_categories["other"]
    key = "ticket.ack_room" if ticket.room_number else "ticket.ack"
    turn.say(
        key,
        ticket=ticket.id,
        department=_department_name(turn, ticket.department),
        room=ticket.room_number,
        minutes=rule.resolve_minutes,
    )
    await add_event(turn.session, ticket, "acknowledged", note=turn.replies[-1].text, now=turn.now)
    if ticket.priority in ("high", "urgent"):
        await alert_staff(turn, ticket, turn.inbound.text)
        await add_event(turn.session, ticket, "escalated", note="staff chat", now=turn.now)


async def complaint(turn: Turn) -> None:
    """Listen and apologise at once, record, route to the duty manager (steps 1–3 of the procedure)."""
    ticket = await _open(turn, "complaint", priority="high")
    turn.say("complaint.ack", ticket=ticket.id)
    await add_event(turn.session, ticket, "apologised", note=turn.replies[-1].text, now=turn.now)
    await alert_staff(turn, ticket, turn.inbound.text)
    await add_event(turn.session, ticket, "escalated", note="duty manager alerted", now=turn.now)


async def handoff(turn: Turn) -> None:
    """The guest asked for a person: a front-desk ticket, posted to staff with the guest's words."""
    ticket = await _open(turn, "other", priority="high")
    turn.say("handoff.ack", ticket=ticket.id)
    await alert_staff(turn, ticket, turn.inbound.text or "—")
    await add_event(turn.session, ticket, "escalated", note="guest asked for a person", now=turn.now)


async def booking_request(turn: Turn, category: str) -> None:
    ticket = await _open(turn, category)
    turn.say("booking.ack", ticket=ticket.id)
    await add_event(turn.session, ticket, "acknowledged", note=turn.replies[-1].text, now=turn.now)
