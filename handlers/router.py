"""Routing: commands, then buttons, then the flow the guest is in, then the analysed category.

Each area registers its entry points in the tables below (commands by name, buttons by value prefix,
flows by name), so adding a capability means adding a module and a line here, not growing this file.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from handlers import info, tickets
from handlers.context import Turn
from handlers.types import Reply

Handler = Callable[[Turn], Awaitable[None]]
FlowHandler = Callable[[Turn], Awaitable[bool]]  # False: the flow let go of the message, route it afresh

# Below this the analyser's guess is not worth acting on: the guest is asked again and offered a person.
LOW_CONFIDENCE = 0.4


async def _welcome(turn: Turn) -> None:
    info.welcome(turn)


async def _faq_menu(turn: Turn) -> None:
    info.faq_menu(turn)


async def _service_menu(turn: Turn) -> None:
    info.service_menu(turn)


async def _faq_button(turn: Turn) -> None:
    if not info.faq_answer(turn, (turn.inbound.button or "").removeprefix(info.FAQ_PREFIX)):
        info.fallback(turn)


COMMANDS: dict[str, Handler] = {
    "start": _welcome,
    "help": _welcome,
}

# Exact button values first, then prefixes ("faq:wifi" → "faq:").
BUTTONS: dict[str, Handler] = {
    info.HANDOFF: tickets.handoff,
    info.FAQ_MENU: _faq_menu,
    info.SERVICE_MENU: _service_menu,
    info.FAQ_PREFIX: _faq_button,
}

FLOWS: dict[str, FlowHandler] = {}


def _button_handler(value: str) -> Handler | None:
    if value in BUTTONS:
        return BUTTONS[value]
    prefix = value.split(":", 1)[0] + ":" if ":" in value else None
    return BUTTONS.get(prefix) if prefix else None


async def handle(turn: Turn) -> None:
    inbound = turn.inbound
    command = COMMANDS.get(inbound.command or "") if inbound.command else None
    if command is not None:
        await command(turn)
    elif inbound.button is not None:
        handler = _button_handler(inbound.button)
        await (handler(turn) if handler else _stale_button(turn))
    elif not inbound.text.strip():
        turn.say("input.empty")
    else:
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
    analysis = turn.analysis
    if analysis is None:
        info.fallback(turn)
        return
    category = analysis.category
    if analysis.escalate:
        await tickets.handoff(turn)
    elif category == "complaint":
        await tickets.complaint(turn)
    elif analysis.confidence < LOW_CONFIDENCE:
        info.fallback(turn)
    elif category in tickets.SERVICE_CATEGORIES:
        await tickets.service_request(turn, category)
    elif category in tickets.BOOKING_CATEGORIES:
        await tickets.booking_request(turn, category)
    elif category == "faq":
        if not info.faq_answer(turn, analysis.faq_topic):
            info.faq_menu(turn)
    elif category == "praise":
        info.thanks(turn)
    else:
        info.hello(turn)
