"""Booking a room: collect what is missing, quote, confirm with a reference. State lives in the store.

Slots are filled from whatever the guest already said (the analyser's entities), so "明晚大床房两晚两个人"
goes almost straight to a quote. Only what is missing is asked, one thing at a time, each with buttons and
a text fallback — as a front desk would: dates, room, party (a party too big for the room is offered the
room types that fit, or more rooms, never given extra rooms silently), then the name the reservation
goes under (and a phone number when the hotel wants one), which later proves the booking is theirs.
"""

from __future__ import annotations

import math
import re
from datetime import date, timedelta
from typing import Any

from crm.bookings import CancellationTerms, SoldOut, book, cancellation_terms, quote
from crm.models import Booking
from handlers import phrases
from handlers.context import Turn
from handlers.flow import clear_flow, set_flow
from handlers.formatting import fmt_date, fmt_datetime, fmt_money
from handlers.i18n import localize
from handlers.names import read_name
from handlers.types import Button, parse_number
from nlp.numbers import cn_int

FLOW = "booking"
MAX_NIGHTS = 30
MAX_ROOMS = 5
ROOM_PREFIX = "book:room:"
GUESTS_PREFIX = "book:guests:"
ROOMS_PREFIX = "book:rooms:"
CONFIRM = "book:confirm"
START = "book:start"
ABORT = "flow:abort"
BOOKING_DETAILS = frozenset({"check_in", "check_out", "nights", "room_type", "guests", "rooms"})  # the slots entities fill


def today(turn: Turn) -> date:
    return turn.now.astimezone(turn.hotel.hotel.zone).date()


def merge_entities(slots: dict[str, Any], entities: dict[str, Any]) -> None:
    """Take dates, nights, room type, guests and rooms from an analysis into the flow's slots."""
    if "check_in" in entities:
        slots["check_in"] = entities["check_in"]
        if "check_out" not in entities and "nights" not in entities and "nights" in slots:
            slots.pop("check_out", None)  # keep the length of stay, move the dates
    if "check_out" in entities:
        slots["check_out"] = entities["check_out"]
    if "nights" in entities:
        slots["nights"] = int(entities["nights"])
        if "check_out" not in entities:
            slots.pop("check_out", None)
    for key in ("room_type", "guests", "rooms"):
        if key in entities:
            slots[key] = entities[key]


def resolve_dates(slots: dict[str, Any]) -> tuple[date, date] | None:
    """(check_in, check_out) once known; the second from nights when only those were given."""
    if "check_in" not in slots:
        return None
    check_in = date.fromisoformat(slots["check_in"])
    if "check_out" in slots:
        check_out = date.fromisoformat(slots["check_out"])
    elif "nights" in slots:
        check_out = check_in + timedelta(days=int(slots["nights"]))
    else:
        return None
    return check_in, check_out


def room_name(turn: Turn, code: str) -> str:
    room = turn.hotel.room_type(code)
    return localize(room.names, turn.locale) if room else code


def room_buttons(turn: Turn, exclude: str | None = None, sleeping: int = 0) -> list[Button]:
    """A button per room type (name and rate), but ``exclude`` and those sleeping fewer than ``sleeping``."""
    return [
        Button(f"{localize(room.names, turn.locale)} · {fmt_money(turn, room.rate)}", f"{ROOM_PREFIX}{room.code}")
        for room in turn.hotel.room_types
        if room.code != exclude and room.capacity >= sleeping
    ]


def terms_for(turn: Turn, booking: Booking) -> CancellationTerms:
    """What cancelling this booking now would cost, under the hotel's policy."""
    hotel = turn.hotel
    return cancellation_terms(
        booking,
        turn.now,
        zone=hotel.hotel.zone,
        check_in_time=hotel.hotel.check_in_time,
        free_hours=hotel.cancellation_policy.free_until_hours_before_check_in,
        penalty_nights=hotel.cancellation_policy.penalty_nights,
    )


def policy_text(turn: Turn, booking_like: Booking) -> str:
    hotel = turn.hotel
    terms = terms_for(turn, booking_like)
    deadline = fmt_datetime(turn, terms.free_until, hotel.hotel.zone)
    if terms.free:
        return turn.t("booking.policy_free", deadline=deadline, nights=hotel.cancellation_policy.penalty_nights)
    return turn.t("booking.policy_charged", deadline=deadline, penalty=fmt_money(turn, terms.penalty))


async def start(turn: Turn) -> None:
    slots: dict[str, Any] = {}
    if turn.analysis is not None:
        merge_entities(slots, turn.analysis.entities)
    set_flow(turn, FLOW, "collect", slots)
    await advance(turn)


async def on_text(turn: Turn) -> bool:
    text = turn.inbound.text
    if phrases.matches("abort", text):
        clear_flow(turn)
        turn.say("flow.abandoned")
        return True
    if turn.state.step == "quote" and phrases.matches("confirm", text):
        await confirm(turn)
        return True
    analysis = turn.analysis
    slots = dict(turn.state.slots)
    if slots.get("_asked") in ("name", "phone") and (analysis is None or analysis.category in ("other", "booking")):
        if _read_booker(turn, slots):
            set_flow(turn, FLOW, "collect", slots)
            await advance(turn)
        else:
            _ask(turn, slots["_asked"], f"booking.ask_{slots['_asked']}_again")
        return True
    entities = dict(analysis.entities) if analysis else {}
    _read_bare_number(turn, entities)
    # A new topic ends the booking; a smile or a "great!" at the quote does not (the quote is shown again)
    if analysis is not None and not BOOKING_DETAILS & set(entities) and analysis.category not in ("booking", "other", "praise"):
        clear_flow(turn)  # the guest moved on to something else: let the router take it
        return False
    merge_entities(slots, entities)
    set_flow(turn, FLOW, "collect", slots)
    await advance(turn)
    return True


_ASCII_NUMBER = re.compile(r"(?<![0-9])([0-9]{1,2})(?![0-9])")
_CN_NUMBER = re.compile(r"[一二两兩三四五六七八九十]+")


def _read_bare_number(turn: Turn, entities: dict[str, Any]) -> None:
    """"2" answers the question just asked (guests or nights) — the analyser cannot know which. When the
    party did not fit the room, "just 2 then" / "那就两个人" is the corrected party."""
    asked = turn.state.slots.get("_asked")
    target = "guests" if asked == "fit" else asked
    if target not in ("guests", "nights") or target in entities:
        return
    number = _number_in(turn.inbound.text)
    if number is not None and 0 < number < 100:
        entities[target] = number


def _number_in(text: str) -> int | None:
    """The one number in a short answer: ASCII digits, Chinese numerals or an English number word."""
    digits = _ASCII_NUMBER.findall(text)
    if len(digits) == 1:
        return int(digits[0])
    if digits:
        return None
    chinese = _CN_NUMBER.search(text)
    if chinese:
        return cn_int(chinese.group(0))
    words = set(re.findall(r"[a-z]+(?: me)?", text.lower()))
    for value, names in enumerate(("one", "two", "three", "four", "five", "six"), start=1):
        if words & set(phrases.items("english_numbers", names)):
            return value
    return None


def _read_booker(turn: Turn, slots: dict[str, Any]) -> bool:
    """The answer to "under which name?" / "which phone number?"; False when it is not one."""
    asked = slots.get("_asked")
    if asked == "name":
        name = read_name(turn.inbound.text)
        if name is None:
            return False
        slots.update(name=name.full, surname=name.surname)
        return True
    if asked == "phone":
        entities = turn.analysis.entities if turn.analysis else {}
        phone = str(entities.get("phone") or "")
        digits = re.sub(r"[^0-9]", "", turn.inbound.text) if not phone else re.sub(r"[^0-9]", "", phone)
        if not 7 <= len(digits) <= 15:
            return False
        slots["phone"] = phone or digits
        return True
    return False


async def on_button(turn: Turn) -> None:
    value = turn.inbound.button or ""
    slots = dict(turn.state.slots) if turn.state.flow == FLOW else {}
    if value == START:
        set_flow(turn, FLOW, "collect", {})
    elif value.startswith(ROOM_PREFIX):
        code = value.removeprefix(ROOM_PREFIX)
        if turn.hotel.room_type(code) is None:
            turn.say("fallback")
            return
        slots["room_type"] = code
        set_flow(turn, FLOW, "collect", slots)
    elif value.startswith(GUESTS_PREFIX):
        count = value.removeprefix(GUESTS_PREFIX)
        guests = parse_number(count)
        if guests is None or not 0 < guests <= 20:
            turn.say("fallback")
            return
        slots["guests"] = guests
        set_flow(turn, FLOW, "collect", slots)
    elif value.startswith(ROOMS_PREFIX):
        rooms = parse_number(value.removeprefix(ROOMS_PREFIX))
        if rooms is None or not 0 < rooms <= MAX_ROOMS:
            turn.say("fallback")
            return
        slots["rooms"] = rooms
        set_flow(turn, FLOW, "collect", slots)
    elif value == CONFIRM:
        if turn.state.flow == FLOW and turn.state.step == "quote":
            await confirm(turn)
        else:
            turn.say("booking.expired")
        return
    await advance(turn)


def _ask(turn: Turn, what: str, key: str, buttons: list[Button] | None = None, **values: object) -> None:
    slots = dict(turn.state.slots)
    slots["_asked"] = what
    set_flow(turn, FLOW, "collect", slots)
    turn.say(key, buttons=[*(buttons or []), turn.button("button.abort", ABORT)], **values)


async def advance(turn: Turn) -> None:
    """Ask for the next missing thing, or quote when everything is known."""
    slots = dict(turn.state.slots)
    dates = resolve_dates(slots)
    first_day = today(turn)
    if dates is None:
        _ask(turn, "nights" if "check_in" in slots else "dates", "booking.ask_nights" if "check_in" in slots else "booking.ask_dates",
             check_in=fmt_date(turn, date.fromisoformat(slots["check_in"])) if "check_in" in slots else "")
        return
    check_in, check_out = dates
    if check_in < first_day:
        slots.pop("check_in", None), slots.pop("check_out", None)
        set_flow(turn, FLOW, "collect", slots)
        _ask(turn, "dates", "booking.past_date")
        return
    if not 0 < (check_out - check_in).days <= MAX_NIGHTS:
        slots.pop("check_out", None), slots.pop("nights", None)
        set_flow(turn, FLOW, "collect", slots)
        _ask(turn, "nights", "booking.bad_nights", max=MAX_NIGHTS, check_in=fmt_date(turn, check_in))
        return
    if "room_type" not in slots or turn.hotel.room_type(slots["room_type"]) is None:
        _ask(turn, "room_type", "booking.ask_room", room_buttons(turn))
        return
    if "guests" not in slots:
        buttons = [Button(str(n), f"{GUESTS_PREFIX}{n}") for n in range(1, 5)]
        _ask(turn, "guests", "booking.ask_guests", buttons)
        return
    room = turn.hotel.room_type(slots["room_type"])
    assert room is not None
    if int(slots["guests"]) > room.capacity and "rooms" not in slots:
        _ask_fit(turn, room.code, int(slots["guests"]))
        return
    if not slots.get("name"):
        _ask(turn, "name", "booking.ask_name")
        return
    if turn.hotel.booking.require_phone and not slots.get("phone"):
        _ask(turn, "phone", "booking.ask_phone", name=slots["name"])
        return
    await show_quote(turn, slots, check_in, check_out)


def _ask_fit(turn: Turn, code: str, guests: int) -> None:
    """More guests than the room sleeps: the room types that fit the party, or enough rooms of this one."""
    room = turn.hotel.room_type(code)
    assert room is not None
    buttons = room_buttons(turn, sleeping=guests)
    fitting = bool(buttons)
    rooms = math.ceil(guests / room.capacity)
    if rooms <= MAX_ROOMS:
        buttons.append(Button(turn.t("button.more_rooms", rooms=rooms, room=room_name(turn, code)), f"{ROOMS_PREFIX}{rooms}"))
    key = "booking.too_many" if fitting else "booking.too_many_no_fit"
    _ask(turn, "fit", key, buttons, room=room_name(turn, code), capacity=room.capacity, guests=guests, rooms=rooms)


async def show_quote(turn: Turn, slots: dict[str, Any], check_in: date, check_out: date) -> None:
    room = turn.hotel.room_type(slots["room_type"])
    assert room is not None
    guests = int(slots["guests"])
    rooms = max(int(slots.get("rooms", 1)), math.ceil(guests / room.capacity))
    if rooms > MAX_ROOMS:
        clear_flow(turn)
        turn.say("booking.group", rooms=rooms, buttons=[turn.button("button.handoff", "handoff")])
        return
    offer = await quote(turn.session, room.code, check_in, check_out, rooms=rooms, guests=guests)
    if offer.available < rooms:
        slots.pop("room_type", None)
        _ask(turn, "room_type", "booking.sold_out", room_buttons(turn, exclude=room.code), room=room_name(turn, room.code))
        return
    slots.update(rooms=rooms, check_in=check_in.isoformat(), check_out=check_out.isoformat(), nights=offer.nights)
    slots.pop("_asked", None)
    set_flow(turn, FLOW, "quote", slots)
    draft = Booking(reference="", room_type=room.code, check_in=check_in, check_out=check_out, rooms=rooms,
                    nightly_rate=offer.nightly_rate, total_price=offer.total)
    turn.say(
        "booking.quote",
        buttons=[turn.button("button.confirm", CONFIRM), turn.button("button.abort", ABORT)],
        room=room_name(turn, room.code),
        check_in=fmt_date(turn, check_in),
        check_out=fmt_date(turn, check_out),
        nights=offer.nights,
        guests=guests,
        rooms=rooms,
        rate=fmt_money(turn, offer.nightly_rate),
        total=fmt_money(turn, offer.total),
        available=offer.available,
        policy=policy_text(turn, draft),
        name=slots.get("name", ""),
    )


async def confirm(turn: Turn) -> None:
    slots = turn.state.slots
    try:
        booking = await book(
            turn.session,
            guest_id=turn.guest.id,
            room_type=slots["room_type"],
            check_in=date.fromisoformat(slots["check_in"]),
            check_out=date.fromisoformat(slots["check_out"]),
            rooms=int(slots["rooms"]),
            guests=int(slots["guests"]),
            surname=str(slots.get("surname", "")),  # the booker's, as asked — never a chat display name
            booker_name=str(slots.get("name", "")),
            phone=str(slots["phone"]) if slots.get("phone") else None,
        )
    except SoldOut:
        fresh = {k: v for k, v in slots.items() if k != "room_type"}
        set_flow(turn, FLOW, "collect", fresh)
        _ask(turn, "room_type", "booking.sold_out", room_buttons(turn, exclude=slots["room_type"]),
             room=room_name(turn, slots["room_type"]))
        return
    clear_flow(turn)
    say_confirmation(turn, booking, "booking.confirmed")


def say_confirmation(turn: Turn, booking: Booking, key: str) -> None:
    turn.say(
        key,
        reference=booking.reference,
        room=room_name(turn, booking.room_type),
        check_in=fmt_date(turn, booking.check_in),
        check_out=fmt_date(turn, booking.check_out),
        nights=(booking.check_out - booking.check_in).days,
        guests=booking.guests,
        rooms=booking.rooms,
        total=fmt_money(turn, booking.total_price),
        policy=policy_text(turn, booking),
        name=booking.booker_name,
    )
