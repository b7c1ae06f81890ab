"""Existing bookings: list them, change them (re-checked, re-priced), cancel them under the policy,
and attach one made elsewhere (reference plus surname or phone)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from crm.bookings import (
    SoldOut,
    attach_failures,
    by_reference,
    cancel,
    change,
    quote,
    record_attach_failure,
    upcoming_bookings,
)
from crm.models import Booking
from handlers import phrases, tickets
from handlers.booking import (
    ABORT,
    BOOKING_DETAILS,
    merge_entities,
    resolve_dates,
    room_name,
    say_confirmation,
    terms_for,
    today,
)
from handlers.context import Turn
from handlers.flow import clear_flow, set_flow
from handlers.formatting import fmt_date, fmt_datetime, fmt_money
from handlers.i18n import join_list
from handlers.names import proves_name
from handlers.staff import alert_staff
from handlers.types import Button, parse_number
from nlp import Analysis

CHANGE, CANCEL, ATTACH = "change", "cancel", "attach"
PICK_PREFIX = {CHANGE: "chg:pick:", CANCEL: "cxl:pick:"}
CONFIRM = {CHANGE: "chg:confirm", CANCEL: "cxl:confirm"}
MAX_LISTED = 5


def names_booking_details(analysis: Analysis) -> bool:
    """A booking-kind message that names what to book or change is understood, however short its wording."""
    return analysis.category in ("booking", "booking_change") and bool(BOOKING_DETAILS & set(analysis.entities))


async def _mine(turn: Turn) -> list[Booking]:
    return await upcoming_bookings(turn.session, turn.guest.id or 0, today(turn))


def _line(turn: Turn, booking: Booking) -> str:
    return turn.t(
        "bookings.line",
        reference=booking.reference,
        room=room_name(turn, booking.room_type),
        check_in=fmt_date(turn, booking.check_in),
        check_out=fmt_date(turn, booking.check_out),
        guests=booking.guests,
        total=fmt_money(turn, booking.total_price),
    )


async def list_bookings(turn: Turn) -> None:
    bookings = await _mine(turn)
    if not bookings:
        turn.say("bookings.none", buttons=[turn.button("button.book", "book:start")])
        return
    lines = "\n".join(_line(turn, booking) for booking in bookings[:MAX_LISTED])
    buttons: list[Button] = []
    for booking in bookings[:3]:
        buttons.append(Button(turn.t("button.change_ref", reference=booking.reference), f"chg:pick:{booking.id}"))
        buttons.append(Button(turn.t("button.cancel_ref", reference=booking.reference), f"cxl:pick:{booking.id}"))
    turn.say("bookings.list", buttons=buttons, lines=lines)


async def start(turn: Turn, action: str) -> None:
    """Change or cancel: find which booking, from a reference in the message or the guest's list."""
    entities = turn.analysis.entities if turn.analysis else {}
    slots: dict[str, Any] = {}
    if action == CHANGE:
        merge_entities(slots, entities)
    reference = entities.get("booking_ref")
    if reference:
        booking = await by_reference(turn.session, str(reference))
        if booking is None or booking.guest_id != turn.guest.id:  # unknown or someone else's: answered alike
            await begin_attach(turn, str(reference), then=action)
            return
        if booking.status in ("confirmed", "checked_in"):
            await _picked(turn, action, booking, slots)
            return
    bookings = await _mine(turn)
    if not bookings:
        clear_flow(turn)
        turn.say("bookings.none_to_act", buttons=[turn.button("button.book", "book:start")])
    elif len(bookings) == 1:
        await _picked(turn, action, bookings[0], slots)
    else:
        set_flow(turn, action, "pick", slots)
        buttons = [Button(f"{b.reference} · {fmt_date(turn, b.check_in)}", f"{PICK_PREFIX[action]}{b.id}") for b in bookings[:MAX_LISTED]]
        turn.say("bookings.which", buttons=[*buttons, turn.button("button.abort", ABORT)])


async def on_pick_button(turn: Turn) -> None:
    value = turn.inbound.button or ""
    action = CHANGE if value.startswith(PICK_PREFIX[CHANGE]) else CANCEL
    raw_id = value.removeprefix(PICK_PREFIX[action])
    booking_id = parse_number(raw_id)
    booking = await turn.session.get(Booking, booking_id) if booking_id is not None else None
    if booking is None or booking.guest_id != turn.guest.id or booking.status not in ("confirmed", "checked_in"):
        turn.say("booking.expired")
        return
    slots = dict(turn.state.slots) if turn.state.flow == action else {}
    await _picked(turn, action, booking, slots)


async def _picked(turn: Turn, action: str, booking: Booking, slots: dict[str, Any]) -> None:
    slots = {**slots, "booking_id": booking.id}
    if action == CANCEL:
        set_flow(turn, CANCEL, "confirm", slots)
        await _offer_cancel(turn, booking)
        return
    set_flow(turn, CHANGE, "collect", slots)
    await _advance_change(turn, booking)


async def _offer_cancel(turn: Turn, booking: Booking) -> None:
    hotel = turn.hotel
    terms = terms_for(turn, booking)
    key = ("cancel.offer_free" if terms.free else "cancel.offer_charged") + ("_paid" if booking.paid_amount else "")
    turn.say(
        key,
        buttons=[turn.button("button.confirm_cancel", CONFIRM[CANCEL]), turn.button("button.keep", ABORT)],
        booking=_line(turn, booking),
        refund=fmt_money(turn, terms.refund),
        penalty=fmt_money(turn, terms.penalty),
        deadline=fmt_datetime(turn, terms.free_until, hotel.hotel.zone),
    )


def _wanted(booking: Booking, slots: dict[str, Any]) -> dict[str, Any]:
    """The booking as it would be after the change the guest asked for (a new arrival keeps the length)."""
    nights = (booking.check_out - booking.check_in).days
    wanted: dict[str, Any] = {
        "check_in": booking.check_in.isoformat(),
        "check_out": booking.check_out.isoformat(),
        "room_type": booking.room_type,
        "guests": booking.guests,
        "rooms": booking.rooms,
    }
    if "check_in" in slots:
        wanted["check_in"] = slots["check_in"]
        wanted.pop("check_out")
        wanted["nights"] = slots.get("nights", nights)
    elif "nights" in slots:
        wanted.pop("check_out")
        wanted["nights"] = slots["nights"]
    if "check_out" in slots:
        wanted["check_out"] = slots["check_out"]
    for key in ("room_type", "guests", "rooms"):
        if key in slots:
            wanted[key] = slots[key]
    return wanted


async def _advance_change(turn: Turn, booking: Booking) -> None:
    slots = turn.state.slots
    asked_for = BOOKING_DETAILS & set(slots)
    if not asked_for:
        set_flow(turn, CHANGE, "collect", slots)
        turn.say("change.ask", buttons=[turn.button("button.abort", ABORT)], booking=_line(turn, booking))
        return
    wanted = _wanted(booking, slots)
    dates = resolve_dates(wanted)
    if dates is None or dates[0] < today(turn) or not 0 < (dates[1] - dates[0]).days <= 30:
        set_flow(turn, CHANGE, "collect", {"booking_id": booking.id})
        turn.say("change.bad_dates", buttons=[turn.button("button.abort", ABORT)])
        return
    check_in, check_out = dates
    room = turn.hotel.room_type(str(wanted["room_type"]))
    if room is None:
        turn.say("change.ask", booking=_line(turn, booking))
        return
    guests = int(wanted["guests"])
    if guests > room.capacity * int(wanted.get("rooms", 1)) and "rooms" not in slots:  # never more rooms silently
        fitting = [room_name(turn, kind.code) for kind in turn.hotel.room_types if kind.capacity >= guests]
        set_flow(turn, CHANGE, "collect", dict(slots))  # the new party stays: a room type that fits completes it
        turn.say("change.too_many", buttons=[turn.button("button.abort", ABORT)], room=room_name(turn, room.code),
                 capacity=room.capacity, guests=guests, fitting=join_list(fitting, turn.locale) or "—")
        return
    rooms = max(int(wanted.get("rooms", 1)), -(-guests // room.capacity))
    offer = await quote(turn.session, room.code, check_in, check_out, rooms=rooms, guests=guests, exclude_id=booking.id)
    if offer.available < rooms:
        set_flow(turn, CHANGE, "collect", {"booking_id": booking.id})
        turn.say("change.sold_out", buttons=[turn.button("button.abort", ABORT)], room=room_name(turn, room.code))
        return
    new = {"booking_id": booking.id, "room_type": room.code, "check_in": check_in.isoformat(),
           "check_out": check_out.isoformat(), "guests": guests, "rooms": rooms}
    set_flow(turn, CHANGE, "confirm", new)
    difference = offer.total - booking.total_price
    key = "change.quote_more" if difference > 0 else "change.quote_less" if difference < 0 else "change.quote_same"
    turn.say(
        key,
        buttons=[turn.button("button.confirm", CONFIRM[CHANGE]), turn.button("button.abort", ABORT)],
        old=_line(turn, booking),
        room=room_name(turn, room.code),
        check_in=fmt_date(turn, check_in),
        check_out=fmt_date(turn, check_out),
        nights=offer.nights,
        guests=guests,
        total=fmt_money(turn, offer.total),
        difference=fmt_money(turn, abs(difference)),
    )


async def on_text(turn: Turn) -> bool:
    """Text while changing or cancelling: confirm, back out, or (change) new details."""
    action = turn.state.flow or ""
    text = turn.inbound.text
    if phrases.matches("abort", text) or (turn.state.step == "confirm" and phrases.matches("decline", text)):
        clear_flow(turn)
        turn.say("flow.abandoned")
        return True
    if turn.state.step == "confirm" and phrases.matches("confirm", text):
        await confirm(turn, action)
        return True
    booking = await _current(turn)
    if booking is None:
        clear_flow(turn)
        return False
    if action == CHANGE and turn.analysis is not None:
        slots = _pending_change(booking, turn.state.slots) if turn.state.step == "confirm" else dict(turn.state.slots)
        before = dict(slots)
        merge_entities(slots, turn.analysis.entities)
        if slots != before:
            set_flow(turn, CHANGE, "collect", slots)
            await _advance_change(turn, booking)
            return True
    if turn.analysis is not None and turn.analysis.category not in ("booking", "booking_change", "cancellation", "other"):
        clear_flow(turn)
        return False
    if action == CANCEL:
        await _offer_cancel(turn, booking)
    else:
        await _advance_change(turn, booking)
    return True


def _pending_change(booking: Booking, pending: dict[str, Any]) -> dict[str, Any]:
    """The change already quoted, as slots a further change builds on: "换成套房" after new dates keeps the
    new dates (arrival and length, so a new arrival moves the stay rather than stretching it)."""
    slots: dict[str, Any] = {"booking_id": booking.id}
    slots.update({key: pending[key] for key in ("room_type", "guests", "rooms", "check_in") if key in pending})
    if "check_in" in pending and "check_out" in pending:
        slots["nights"] = (date.fromisoformat(pending["check_out"]) - date.fromisoformat(pending["check_in"])).days
    return slots


async def _current(turn: Turn) -> Booking | None:
    booking_id = turn.state.slots.get("booking_id")
    booking = await turn.session.get(Booking, int(booking_id)) if booking_id else None
    if booking is None or booking.guest_id != turn.guest.id or booking.status not in ("confirmed", "checked_in"):
        return None
    return booking


async def on_confirm_button(turn: Turn) -> None:
    action = CHANGE if turn.inbound.button == CONFIRM[CHANGE] else CANCEL
    if turn.state.flow != action or turn.state.step != "confirm":
        turn.say("booking.expired")
        return
    await confirm(turn, action)


async def confirm(turn: Turn, action: str) -> None:
    booking = await _current(turn)
    if booking is None:
        clear_flow(turn)
        turn.say("booking.expired")
        return
    if action == CANCEL:
        terms = terms_for(turn, booking)
        cancel(booking, terms, turn.now)
        clear_flow(turn)
        # Only what was paid goes back; a booking nobody paid for costs nothing, or owes its penalty
        key = "cancel.done" if booking.paid_amount else "cancel.done_free" if terms.free else "cancel.done_charged"
        turn.say(key, reference=booking.reference, refund=fmt_money(turn, terms.refund),
                 penalty=fmt_money(turn, terms.penalty))
        return
    slots = turn.state.slots
    try:
        await change(
            turn.session, booking, room_type=slots["room_type"], check_in=date.fromisoformat(slots["check_in"]),
            check_out=date.fromisoformat(slots["check_out"]), rooms=int(slots["rooms"]), guests=int(slots["guests"]),
        )
    except SoldOut:
        set_flow(turn, CHANGE, "collect", {"booking_id": booking.id})
        turn.say("change.sold_out", room=room_name(turn, slots["room_type"]))
        return
    clear_flow(turn)
    say_confirmation(turn, booking, "change.done")


# --- attaching a booking made elsewhere -------------------------------------------------------------
# Real and unknown references get the same answers, and every failed proof is a row counted per reference
# and per guest over a day (sending the reference again resets nothing): after MAX_ATTACH_FAILURES the
# reference (or the guest) is locked for the day and staff are told.

_DIGITS = re.compile(r"\D")
MAX_ATTACH_FAILURES = 5


async def begin_attach(turn: Turn, reference: str, then: str | None = None) -> None:
    if await _attach_locked(turn, reference):
        return
    set_flow(turn, ATTACH, "verify", {"reference": reference.upper(), "then": then})
    turn.say("attach.ask", buttons=[turn.button("button.abort", ABORT)], reference=reference.upper())


async def _attach_locked(turn: Turn, reference: str) -> bool:
    by_reference_count, by_guest_count = await attach_failures(
        turn.session, reference=reference, guest_id=turn.guest.id or 0, now=turn.now)
    if by_reference_count < MAX_ATTACH_FAILURES and by_guest_count < MAX_ATTACH_FAILURES:
        return False
    clear_flow(turn)
    turn.say("attach.locked", buttons=[turn.button("button.handoff", "handoff")])
    return True


async def attach_on_text(turn: Turn) -> bool:
    text = turn.inbound.text.strip()
    if phrases.matches("abort", text):
        clear_flow(turn)
        turn.say("flow.abandoned")
        return True
    slots = dict(turn.state.slots)
    named = turn.analysis.entities.get("booking_ref") if turn.analysis is not None else None
    if named:  # a (new) reference is not a proof: start over with it, the failures stay counted
        await begin_attach(turn, str(named), then=slots.get("then"))
        return True
    reference = str(slots.get("reference", ""))
    booking = await by_reference(turn.session, reference, lock=True)  # guesses sent at once wait their turn
    if await _attach_locked(turn, reference):  # locked meanwhile (from another account): no more guesses
        return True
    if booking is not None and _proves_ownership(booking, text):
        if booking.guest_id is not None and booking.guest_id != turn.guest.id:
            turn.join_guest = booking.guest_id  # the booker's profile: this channel joins it (e.g. WeChat)
        else:
            booking.guest_id = turn.guest.id
        if not turn.guest.surname and booking.surname:
            turn.guest.surname = booking.surname
        clear_flow(turn)
        turn.say("attach.done", booking=_line(turn, booking))
        then = slots.get("then")
        if then in (CHANGE, CANCEL) and booking.status in ("confirmed", "checked_in"):
            await _picked(turn, then, booking, {})
        return True
    await record_attach_failure(turn.session, reference, turn.guest.id or 0, turn.now)
    by_reference_count, by_guest_count = await attach_failures(
        turn.session, reference=reference, guest_id=turn.guest.id or 0, now=turn.now)
    if by_reference_count >= MAX_ATTACH_FAILURES or by_guest_count >= MAX_ATTACH_FAILURES:
        clear_flow(turn)
        turn.say("attach.locked", buttons=[turn.button("button.handoff", "handoff")])
        await _tell_staff_locked(turn, reference, by_reference_count, by_guest_count)
        return True
    turn.say("attach.mismatch", buttons=[turn.button("button.abort", ABORT)])
    return True


async def _tell_staff_locked(turn: Turn, reference: str, by_reference_count: int, by_guest_count: int) -> None:
    """A high-priority front-desk ticket: someone may be trying to take over a booking."""
    summary = turn.catalog.text(turn.staff_locale, "attach.locked_staff", reference=reference,
                                failures=by_reference_count, guest_failures=by_guest_count, max=MAX_ATTACH_FAILURES)
    ticket = await tickets.open_request(turn, "front_desk", summary, priority="high")
    await alert_staff(turn, ticket, summary)


def _proves_ownership(booking: Booking, text: str) -> bool:
    """The booker's surname or name as they gave it (case-insensitive), or the last 8+ digits of the phone
    on the booking — never a chat display name, which anyone can set."""
    if booking.surname and proves_name(booking.surname, booking.booker_name, text):
        return True
    digits = _DIGITS.sub("", text)
    phone = _DIGITS.sub("", booking.phone or "")
    return len(digits) >= 8 and len(phone) >= 8 and phone.endswith(digits[-8:]) and digits.endswith(phone[-8:])


async def maybe_attach(turn: Turn) -> bool:
    """A reference the guest's account does not hold (ours or not: the answer is the same): offer to attach."""
    if turn.analysis is None or not (turn.analysis.entities.get("booking_ref") or phrases.matches("attach", turn.inbound.text)):
        return False
    reference = turn.analysis.entities.get("booking_ref")
    if not reference:
        turn.say("attach.need_reference")
        return True
    booking = await by_reference(turn.session, str(reference))
    if booking is not None and booking.guest_id == turn.guest.id:
        return False
    await begin_attach(turn, str(reference))
    return True
