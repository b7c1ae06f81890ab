"""Routing: conversation state first (later flows), then commands, buttons and the analysed category."""

from __future__ import annotations

from handlers import info, tickets
from handlers.context import Turn
from handlers.types import Reply

# Below this the analyser's guess is not worth acting on: the guest is asked again and offered a person.
LOW_CONFIDENCE = 0.4


async def handle(turn: Turn) -> None:
    inbound = turn.inbound
    if inbound.command == "start":
        info.welcome(turn)
    elif inbound.button is not None:
        await _button(turn, inbound.button)
    elif not inbound.text.strip():
        turn.say("input.empty")
    else:
        await _text(turn)
    if inbound.truncated and turn.replies:
        turn.replies.insert(0, Reply(turn.t("input.truncated")))


async def _button(turn: Turn, value: str) -> None:
    if value == info.HANDOFF:
        await tickets.handoff(turn)
    elif value == info.FAQ_MENU:
        info.faq_menu(turn)
    elif value == info.SERVICE_MENU:
        info.service_menu(turn)
    elif value.startswith(info.FAQ_PREFIX) and info.faq_answer(turn, value.removeprefix(info.FAQ_PREFIX)):
        pass
    else:  # stale or forged button: behave as if the guest had said nothing we understood
        info.fallback(turn)


async def _text(turn: Turn) -> None:
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
