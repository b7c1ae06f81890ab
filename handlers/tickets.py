"""Service requests, complaints, praise and hand-off: each becomes a ticket for the right department.

Complaints follow the hotel's six-step procedure; the ticket's timeline records each step:
1 listen and apologise at once · 2 record · 3 classify and route (priority high, duty manager alerted) ·
4 solution by staff · 5 follow-up with the guest after resolution · 6 the manager's root-cause note.
Steps 1–3 and the guest's side of 5 happen here; 4 and 6 are staff actions.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from crm import loyalty
from crm.conversation import EXPECT_TOLD, hand_to_staff
from crm.models import ChannelIdentity, Outbox, StaffUser, Ticket
from crm.outbox import enqueue
from crm.tickets import TicketSpec, add_event, open_ticket, open_tickets_of
from handlers import phrases
from handlers.context import Turn
from handlers.flow import clear_flow, set_flow
from handlers.formatting import fmt_date, fmt_datetime
from handlers.i18n import Catalog, localize
from handlers.staff import alert_staff
from handlers.types import parse_number

SERVICE_CATEGORIES = frozenset({"housekeeping", "maintenance", "food_beverage", "front_desk", "billing"})
BOOKING_CATEGORIES = frozenset({"booking", "booking_change", "cancellation"})
ROOM_BOUND = frozenset({"housekeeping", "maintenance", "food_beverage"})  # staff must know which room
ROOM_FLOW = "service_room"
FOLLOW_UP_PREFIX = "fu:"
HANDOFF_CATEGORY = "other"
FAULT_CATEGORY = "maintenance"  # the department a fault complaint's work order goes to
_ROOM = re.compile(r"^\s*#?(\d{3,5})\s*(?:号|號|房|室|room)?\s*$", re.I)


def room_from(turn: Turn) -> str | None:
    if turn.analysis is not None and turn.analysis.entities.get("room_number"):
        return str(turn.analysis.entities["room_number"])[:10]
    match = _ROOM.match(turn.inbound.text)
    return match.group(1) if match else None


async def _open(turn: Turn, category: str, summary: str, *, priority: str | None = None) -> Ticket:
    rule = turn.hotel.ticket_categories.get(category) or turn.hotel.ticket_categories["other"]
    if priority is None and turn.analysis is not None and turn.analysis.urgency == "high":
        priority = "high" if rule.priority in ("low", "normal") else rule.priority
    spec = TicketSpec(
        guest_id=turn.guest.id or 0,
        category=category,
        department=rule.department,
        priority=priority or rule.priority,
        channel=turn.inbound.channel,
        summary=summary,
        respond_minutes=rule.respond_minutes,
        resolve_minutes=rule.resolve_minutes,
        room_number=turn.guest.room_number,
    )
    ticket = await open_ticket(turn.session, spec, now=turn.now)
    turn.ticket_id = ticket.id
    return ticket


open_request = _open  # for other flows that file a ticket (reservations: a booking reference locked)


def department_name(turn: Turn, code: str) -> str:
    department = turn.hotel.departments.get(code)
    return localize(department, turn.locale) if department else code


async def service_request(turn: Turn, category: str) -> None:
    room = room_from(turn)
    if room:
        turn.guest.room_number = room
    if category in ROOM_BOUND and not turn.guest.room_number:
        set_flow(turn, ROOM_FLOW, "room", {"category": category, "text": turn.inbound.text[:2000],
                                           "urgency": turn.analysis.urgency if turn.analysis else "normal"})
        turn.say("ticket.ask_room", buttons=[turn.button("button.abort", "flow:abort")])
        return
    await _file_request(turn, category, turn.inbound.text)


async def _file_request(turn: Turn, category: str, words: str, *, urgent: bool = False) -> Ticket:
    ticket = await _open(turn, category, words, priority="high" if urgent else None)
    rule = turn.hotel.ticket_categories.get(category) or turn.hotel.ticket_categories["other"]
    turn.say(
        "ticket.ack_room" if ticket.room_number else "ticket.ack",
        ticket=ticket.id,
        department=department_name(turn, ticket.department),
        room=ticket.room_number,
        minutes=rule.resolve_minutes,
    )
    await add_event(turn.session, ticket, "acknowledged", note=turn.replies[-1].text, now=turn.now)
    if ticket.priority in ("high", "urgent"):
        await alert_staff(turn, ticket, words)
        await add_event(turn.session, ticket, "escalated", note="staff chat", now=turn.now)
    return ticket


async def file_aside(turn: Turn, category: str) -> Ticket:
    """A clearly new request while staff hold the conversation: its own ticket for its own department,
    announced in one short line (the conversation stays with staff; they see the new ticket too)."""
    room = room_from(turn)
    if room:
        turn.guest.room_number = room
    ticket = await _open(turn, category, turn.inbound.text)
    turn.say("handoff.new_ticket", ticket=ticket.id, department=department_name(turn, ticket.department))
    await add_event(turn.session, ticket, "acknowledged", note=turn.replies[-1].text, now=turn.now)
    await alert_staff(turn, ticket, turn.inbound.text)
    return ticket


async def _link(turn: Turn, complaint: Ticket, work_order: Ticket) -> None:
    """A complaint about a fault and the work order that fixes it point at each other in their timelines."""
    await add_event(turn.session, complaint, "linked", note=f"#{work_order.id}", now=turn.now)
    await add_event(turn.session, work_order, "linked", note=f"#{complaint.id}", now=turn.now)


async def room_flow(turn: Turn) -> bool:
    """The guest was asked for a room number for a pending request."""
    if phrases.matches("abort", turn.inbound.text):
        clear_flow(turn)
        turn.say("flow.abandoned")
        return True
    room = room_from(turn)
    if room is None:
        if turn.analysis is not None and turn.analysis.category not in ("other",) and turn.analysis.confidence >= 0.5:
            clear_flow(turn)  # a new topic: the old request is dropped rather than filed without a room
            return False
        turn.say("ticket.ask_room_again", buttons=[turn.button("button.abort", "flow:abort")])
        return True
    slots = dict(turn.state.slots)
    turn.guest.room_number = room
    clear_flow(turn)
    complaint_id = slots.get("complaint")
    complaint = await turn.session.get(Ticket, int(complaint_id)) if isinstance(complaint_id, int) else None
    if complaint is not None and complaint.guest_id == turn.guest.id:
        complaint.room_number = complaint.room_number or room
    ticket = await _file_request(turn, str(slots.get("category", "housekeeping")), str(slots.get("text", "")),
                                 urgent=slots.get("urgency") == "high")
    if complaint is not None and complaint.guest_id == turn.guest.id:
        await _link(turn, complaint, ticket)
    return True


async def status(turn: Turn) -> bool:
    """"我的毛巾送了吗" / "any update?": the status of the guest's open tickets; False if there are none."""
    open_tickets = await open_tickets_of(turn.session, turn.guest.id or 0)
    if not open_tickets:
        return False
    zone = turn.hotel.hotel.zone
    for ticket in open_tickets[:3]:
        overdue = ticket.resolve_due is not None and ticket.resolve_due < turn.now
        turn.say(
            "ticket.status_overdue" if overdue else "ticket.status",
            ticket=ticket.id,
            category=turn.t(f"category.{ticket.category}"),
            status=turn.t(f"status.{ticket.status}"),
            due=fmt_datetime(turn, ticket.resolve_due, zone) if ticket.resolve_due else "—",
        )
        await add_event(turn.session, ticket, "guest_chased", note=turn.inbound.text[:500], now=turn.now)
        if overdue:
            ticket.escalation_level += 1
            await alert_staff(turn, ticket, turn.inbound.text)
            await add_event(turn.session, ticket, "escalated", note="guest chased an overdue ticket", now=turn.now)
    return True


async def complaint(turn: Turn) -> None:
    """Steps 1–3: apologise at once, record, route with high priority to the duty manager. A complaint
    about a fault ("the air conditioning is broken and drips") is guest relations' to own, but the fault
    itself needs the engineers: a work order for them with the room, linked to the complaint (or the
    guest's open one linked), and the room asked for when we do not know it."""
    ticket = await _open(turn, "complaint", turn.inbound.text, priority="high")
    room = room_from(turn)
    if room:
        turn.guest.room_number = ticket.room_number = room
    turn.say("complaint.ack", ticket=ticket.id)
    await add_event(turn.session, ticket, "apologised", note=turn.replies[-1].text, now=turn.now)
    await alert_staff(turn, ticket, turn.inbound.text)
    await add_event(turn.session, ticket, "escalated", note="duty manager alerted", now=turn.now)
    if phrases.matches("fault", turn.inbound.text):
        await _work_order(turn, ticket)


async def _work_order(turn: Turn, complaint_ticket: Ticket) -> None:
    existing = [t for t in await open_tickets_of(turn.session, turn.guest.id or 0) if t.category == FAULT_CATEGORY]
    if existing:
        await _link(turn, complaint_ticket, existing[0])
        return
    if not turn.guest.room_number:
        set_flow(turn, ROOM_FLOW, "room", {"category": FAULT_CATEGORY, "text": turn.inbound.text[:2000],
                                           "urgency": "high", "complaint": complaint_ticket.id})
        turn.say("complaint.ask_room", ticket=complaint_ticket.id, buttons=[turn.button("button.abort", "flow:abort")])
        return
    order = await _open(turn, FAULT_CATEGORY, turn.inbound.text)
    turn.ticket_id = complaint_ticket.id  # the guest's message stays with the complaint
    turn.say("complaint.work_order", ticket=order.id, department=department_name(turn, order.department),
             room=order.room_number)
    await add_event(turn.session, order, "acknowledged", note=turn.replies[-1].text, now=turn.now)
    await alert_staff(turn, order, turn.inbound.text)
    await _link(turn, complaint_ticket, order)


async def praise(turn: Turn) -> None:
    """Thank the guest; record it as a closed praise ticket, naming the staff member when mentioned."""
    ticket = await _open(turn, "praise", turn.inbound.text, priority="low")
    ticket.status = "closed"
    result = await turn.session.execute(select(StaffUser.name).where(StaffUser.active.is_(True)))  # type: ignore[attr-defined]
    named = [name for name in result.scalars() if name and name.casefold() in turn.inbound.text.casefold()]
    for name in named:
        await add_event(turn.session, ticket, "praise_for", note=name, now=turn.now)
    turn.say("praise.thanks_named" if named else "praise.thanks", names="、".join(named))


async def handoff(turn: Turn) -> None:
    """The guest wants a person: a ticket posted to staff, who now hold the conversation (the bot relays).
    The guest is told once what to expect — the category's first-response time."""
    ticket = await _open(turn, HANDOFF_CATEGORY, turn.inbound.text or "—", priority="high")
    hand_to_staff(turn.state, ticket.id or 0)
    turn.state.waiting_notice = EXPECT_TOLD
    rule = turn.hotel.ticket_categories.get(HANDOFF_CATEGORY) or turn.hotel.ticket_categories["other"]
    turn.say("handoff.ack", ticket=ticket.id, minutes=rule.respond_minutes)
    await alert_staff(turn, ticket, turn.inbound.text or "—")
    await add_event(turn.session, ticket, "escalated", note="guest asked for a person", now=turn.now)


async def follow_up(session: AsyncSession, catalog: Catalog, ticket: Ticket, locale: str) -> Outbox | None:
    """Step 5, called when staff resolve a complaint: ask the guest whether it is solved."""
    identity = (
        await session.execute(
            select(ChannelIdentity).where(ChannelIdentity.guest_id == ticket.guest_id).order_by(ChannelIdentity.id.desc())  # type: ignore[union-attr]
        )
    ).scalars().first()
    if identity is None:
        return None
    buttons = [
        {"label": catalog.text(locale, "button.solved"), "value": f"{FOLLOW_UP_PREFIX}{ticket.id}:yes"},
        {"label": catalog.text(locale, "button.not_solved"), "value": f"{FOLLOW_UP_PREFIX}{ticket.id}:no"},
    ]
    row = await enqueue(session, Outbox(
        channel=identity.channel, chat_id=identity.chat_id, guest_id=ticket.guest_id, kind="reply",
        text=catalog.text(locale, "complaint.follow_up", ticket=ticket.id), buttons=buttons, ticket_id=ticket.id,
        dedupe_key=f"followup:{ticket.id}:{ticket.escalation_level}",
    ))
    await add_event(session, ticket, "follow_up_sent")
    return row


async def open_for_relay(turn: Turn) -> Ticket:
    """Staff hold a conversation whose ticket was closed meanwhile: a new one carries the thread on."""
    return await _open(turn, HANDOFF_CATEGORY, turn.inbound.text or "—", priority="high")


def reopen(ticket: Ticket, now: datetime) -> None:
    """Not solved after all: back with whoever had it (claimed) or in the queue (open), no longer resolved,
    with a fresh resolution period — so no page reads "open · lily · within SLA" for it."""
    period = (ticket.resolve_due - ticket.created_at) if ticket.resolve_due else timedelta(hours=2)
    ticket.status = "claimed" if ticket.assignee_id is not None else "open"
    ticket.resolved_at = None
    ticket.resolve_due = now + period


async def follow_up_answer(turn: Turn) -> None:
    """The guest's answer to step 5: solved closes the ticket; not solved reopens and re-escalates it."""
    parts = (turn.inbound.button or "").split(":")
    raw_id, answer = (parts[1], parts[2]) if len(parts) == 3 else ("", "")
    ticket_id = parse_number(raw_id)
    ticket = await turn.session.get(Ticket, ticket_id) if ticket_id is not None else None
    if ticket is None or ticket.guest_id != turn.guest.id or answer not in ("yes", "no"):
        turn.say("fallback")
        return
    turn.ticket_id = ticket.id
    if answer == "yes":
        ticket.status = "closed"
        await add_event(turn.session, ticket, "guest_confirmed_solved", actor="guest", now=turn.now)
        turn.say("complaint.closed")
        return
    reopen(ticket, turn.now)
    ticket.escalation_level += 1
    await add_event(turn.session, ticket, "guest_not_solved", actor="guest", now=turn.now)
    await alert_staff(turn, ticket, turn.t("complaint.reopened_note"))
    turn.say("complaint.reopened", ticket=ticket.id)


async def late_checkout(turn: Turn) -> None:
    """Honour the loyalty tier's late check-out perk at once; otherwise the front desk decides. The day is
    the one the guest named ("明天…延迟退房" is tomorrow's check-out, the analyser's ``check_out``), else today."""
    standard = turn.hotel.hotel.check_out_time
    allowed = loyalty.late_checkout(turn.guest.tier, standard)
    entities = turn.analysis.entities if turn.analysis is not None else {}
    today = turn.now.astimezone(turn.hotel.hotel.zone).date()
    day = _named_day(entities.get("check_out") or entities.get("check_in"), today)
    wanted = str(entities.get("time") or "")
    when = fmt_date(turn, day)
    summary = turn.catalog.text(turn.staff_locale, "late_checkout.summary", date=day.isoformat(),
                                time=wanted or "—", text=turn.inbound.text)
    ticket = await _open(turn, "front_desk", summary)
    tier = turn.t(f"tier.{turn.guest.tier}")
    if allowed > standard:
        turn.say("late_checkout.granted", ticket=ticket.id, tier=tier, time=f"{allowed:%H:%M}", date=when)
        ticket.status = "resolved"
        await add_event(turn.session, ticket, "resolved", note=f"tier perk: check-out {day} {allowed:%H:%M}", now=turn.now)
    else:
        key = "late_checkout.asked_until" if wanted else "late_checkout.asked"
        turn.say(key, ticket=ticket.id, time=f"{standard:%H:%M}", date=when, wanted=wanted)
        await add_event(turn.session, ticket, "acknowledged", note=turn.replies[-1].text, now=turn.now)


def _named_day(value: object, today: date) -> date:
    """A date the guest named, if it is today or later (a check-out cannot be moved in the past)."""
    try:
        day = date.fromisoformat(str(value)) if value else today
    except ValueError:
        return today
    return day if day >= today else today
