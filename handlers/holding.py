"""A conversation held by staff: the bot relays, stays quiet, and still files a clearly new request.

One ownership model (``ConversationState``): a conversation is with the bot, or with staff on one ticket
(``handoff_ticket_id``). It goes to staff when the guest asks for a person (nobody has answered yet:
``staff_id`` is None) or when a staff member writes to the guest (dashboard or Telegram: ``take_over``).
While staff hold it, every guest message is logged on that ticket, shown live on the dashboard (a
``guest_wrote`` event) and relayed to the Telegram staff chat in the holder's language; the bot says
nothing, except one short line when the message is clearly a new request for another department (its own
ticket), and — while the guest still waits for a first answer — once more if that answer runs late.

It returns to the bot when staff resolve the ticket or hand it back (``handlers.ticket_actions``), or when
the staff member has been silent for ``handoff.release_after_minutes``: then the guest is told and their
message is answered by the bot at once.
"""

from __future__ import annotations

from datetime import timedelta

from crm.conversation import LATE_TOLD, clear_handoff
from crm.models import StaffUser, Ticket
from crm.tickets import add_event, open_tickets_of
from handlers import tickets
from handlers.context import Turn
from handlers.staff import alert_staff

NEW_REQUEST = 0.6  # a service category at least this sure, and not the held ticket's: its own ticket


async def expire_silence(turn: Turn) -> bool:
    """Staff answered once and then fell silent too long: the bot takes the conversation back, saying so.
    True when it did (the message is then routed as usual)."""
    state = turn.state
    if not state.handoff or state.staff_id is None or state.staff_active_at is None:
        return False
    if turn.now - state.staff_active_at < timedelta(minutes=turn.hotel.handoff.release_after_minutes):
        return False
    ticket = await turn.session.get(Ticket, state.handoff_ticket_id) if state.handoff_ticket_id else None
    if ticket is not None:
        await add_event(turn.session, ticket, "returned_to_bot", note="staff silent", now=turn.now)
    clear_handoff(state)
    turn.say("handoff.returned_silence")
    return True


async def _held_ticket(turn: Turn) -> Ticket:
    state = turn.state
    held = await turn.session.get(Ticket, state.handoff_ticket_id) if state.handoff_ticket_id else None
    if held is not None and held.guest_id == turn.guest.id and held.status in ("open", "claimed"):
        return held
    open_tickets = await open_tickets_of(turn.session, turn.guest.id or 0)
    held = open_tickets[0] if open_tickets else await tickets.open_for_relay(turn)
    state.handoff_ticket_id = held.id
    return held


def _new_request(turn: Turn, held: Ticket) -> str | None:
    analysis = turn.analysis
    if analysis is None or analysis.category not in tickets.SERVICE_CATEGORIES:
        return None
    if analysis.confidence < NEW_REQUEST or analysis.category == held.category:
        return None
    return analysis.category


async def relay(turn: Turn) -> None:
    """The guest's message while staff hold the conversation (see the module's docstring)."""
    state = turn.state
    held = await _held_ticket(turn)
    room = tickets.room_from(turn)
    if room:  # "1502, thanks" to a staff member's "which room are you in?"
        turn.guest.room_number = room
        held.room_number = held.room_number or room
    category = _new_request(turn, held)
    if category is not None:
        await tickets.file_aside(turn, category)
        return
    turn.ticket_id = held.id
    words = turn.inbound.text or (f"[{turn.inbound.button}]" if turn.inbound.button else "—")
    await add_event(turn.session, held, "guest_wrote", actor="guest", note=words, now=turn.now)
    holder = await turn.session.get(StaffUser, state.staff_id) if state.staff_id else None
    await alert_staff(turn, held, words, key="staff.relay", locale=holder.language if holder else None)
    waiting = state.staff_id is None and held.first_response_at is None
    if waiting and held.respond_due is not None and held.respond_due < turn.now and state.waiting_notice < LATE_TOLD:
        state.waiting_notice = LATE_TOLD  # unless a sweep told them first (scheduler.handoff)
        turn.say("handoff.late", ticket=held.id)
