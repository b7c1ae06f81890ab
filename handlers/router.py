"""Routing: commands, then buttons, then hand-off, then the flow the guest is in, then the category.

Each area registers its entry points in the tables below (commands by name, buttons by exact value or
``prefix:``, flows by name), so adding a capability means adding a module and a line here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from handlers import booking, flood, holding, info, lifecycle, phrases, preferences, reservations, tickets
from handlers.context import Turn
from handlers.flow import clear_flow
from handlers.types import Reply

Handler = Callable[[Turn], Awaitable[None]]
FlowHandler = Callable[[Turn], Awaitable[bool]]  # False: the flow let go of the message, route it afresh

# Below this the analyser's guess is not worth acting on: the guest is asked again and offered a person
# (a button); twice in a row, the offer is made plainly — but never forced: the guest chooses.
LOW_CONFIDENCE = 0.4
LOW_CONFIDENCE_AGAIN = 2


async def _welcome(turn: Turn) -> None:
    info.welcome(turn)


async def _faq_menu(turn: Turn) -> None:
    info.faq_menu(turn)


async def _service_menu(turn: Turn) -> None:
    info.service_menu(turn)


async def _faq_button(turn: Turn) -> None:
    if not info.faq_answer(turn, (turn.inbound.button or "").removeprefix(info.FAQ_PREFIX)):
        info.fallback(turn)


async def _abort(turn: Turn) -> None:
    clear_flow(turn)
    turn.say("flow.abandoned")


COMMANDS: dict[str, Handler] = {
    "start": _welcome,
    "help": _welcome,
    "language": preferences.language_command,
    "bookings": reservations.list_bookings,
    "book": booking.start,
    "stop": lifecycle.opt_out,
    "unsubscribe": lifecycle.opt_out,
    "subscribe": lifecycle.opt_in,
}

BUTTONS: dict[str, Handler] = {
    info.HANDOFF: tickets.handoff,
    info.FAQ_MENU: _faq_menu,
    info.SERVICE_MENU: _service_menu,
    info.FAQ_PREFIX: _faq_button,
    booking.ABORT: _abort,
    "book:": booking.on_button,
    "chg:pick:": reservations.on_pick_button,
    "cxl:pick:": reservations.on_pick_button,
    reservations.CONFIRM[reservations.CHANGE]: reservations.on_confirm_button,
    reservations.CONFIRM[reservations.CANCEL]: reservations.on_confirm_button,
    tickets.FOLLOW_UP_PREFIX: tickets.follow_up_answer,
    preferences.LANGUAGE_PREFIX: preferences.language_button,
    lifecycle.SURVEY_PREFIX: lifecycle.survey_button,
    lifecycle.PREARRIVAL_PREFIX: lifecycle.prearrival_button,
}

FLOWS: dict[str, FlowHandler] = {
    booking.FLOW: booking.on_text,
    reservations.CHANGE: reservations.on_text,
    reservations.CANCEL: reservations.on_text,
    reservations.ATTACH: reservations.attach_on_text,
    tickets.ROOM_FLOW: tickets.room_flow,
    lifecycle.COMMENT_FLOW: lifecycle.comment_flow,
}


def _button_handler(value: str) -> Handler | None:
    if value in BUTTONS:
        return BUTTONS[value]
    parts = value.split(":")
    for cut in range(len(parts) - 1, 0, -1):  # longest prefix first: "chg:pick:" before "chg:"
        handler = BUTTONS.get(":".join(parts[:cut]) + ":")
        if handler is not None:
            return handler
    return None


async def handle(turn: Turn) -> None:
    inbound = turn.inbound
    command = COMMANDS.get(inbound.command or "") if inbound.command else None
    if flood.flooding(turn):
        pass
    elif command is not None:
        await command(turn)
    elif turn.state.handoff and not await holding.expire_silence(turn) and not await lifecycle.opt_out_text(turn):
        await holding.relay(turn)  # staff hold the conversation: the bot relays and stays quiet
    elif inbound.button is not None:
        handler = _button_handler(inbound.button)
        await (handler(turn) if handler else _stale_button(turn))
    elif not inbound.text.strip():
        turn.say("input.empty")
    else:
        await preferences.learn(turn)
        flow = FLOWS.get(turn.state.flow or "")
        if flow is None or not await flow(turn):
            await route_text(turn)
    if inbound.truncated and turn.replies:
        turn.replies.insert(0, Reply(turn.t("input.truncated")))


async def _stale_button(turn: Turn) -> None:
    """A button from an old message or a forged value: answer as if we had not understood."""
    info.fallback(turn)


async def route_text(turn: Turn) -> None:
    """What a free-text message means when no flow claims it."""
    if await lifecycle.opt_out_text(turn):  # 退订 / unsubscribe / stop without the slash
        return
    analysis = turn.analysis
    if analysis is None:
        info.fallback(turn)
        return
    text = turn.inbound.text
    category = analysis.category
    confident = (analysis.confidence >= LOW_CONFIDENCE or category == "complaint" or analysis.escalate
                 or reservations.names_booking_details(analysis))  # "换成套房可以吗": a room type is evidence
    turn.state.low_confidence_streak = 0 if confident else turn.state.low_confidence_streak + 1
    if analysis.escalate:
        await tickets.handoff(turn)
    elif phrases.matches("status", text) and await tickets.status(turn):
        pass
    elif phrases.matches("my_bookings", text):
        await reservations.list_bookings(turn)
    elif category == "complaint":
        await tickets.complaint(turn)
    elif not confident:
        info.fallback(turn, again=turn.state.low_confidence_streak >= LOW_CONFIDENCE_AGAIN)
    elif category in ("booking", "booking_change", "cancellation") or analysis.entities.get("booking_ref"):
        await _booking_category(turn, category)
    elif category == "front_desk" and phrases.matches("late_checkout", text):
        await tickets.late_checkout(turn)
    elif category in tickets.SERVICE_CATEGORIES:
        await tickets.service_request(turn, category)
    elif category == "faq":
        if not info.faq_answer(turn, analysis.faq_topic):
            info.faq_menu(turn)
    elif category == "praise":
        await tickets.praise(turn)
    elif await reservations.maybe_attach(turn):
        pass
    else:
        info.hello(turn)


async def _booking_category(turn: Turn, category: str) -> None:
    if category == "booking_change":
        await reservations.start(turn, reservations.CHANGE)
    elif category == "cancellation":
        await reservations.start(turn, reservations.CANCEL)
    elif category == "booking" and not (turn.analysis and turn.analysis.entities.get("booking_ref")):
        await booking.start(turn)
    elif not await reservations.maybe_attach(turn):
        await reservations.list_bookings(turn)
