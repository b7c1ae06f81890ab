"""Welcome, FAQ answers from the hotel's configuration, thanks, greetings and the polite fallback."""

from __future__ import annotations

from handlers.context import Turn
from handlers.i18n import localize
from handlers.types import Button

HANDOFF = "handoff"
FAQ_MENU = "menu:faq"
SERVICE_MENU = "menu:service"
FAQ_PREFIX = "faq:"


def main_buttons(turn: Turn) -> list[Button]:
    return [
        turn.button("button.faq", FAQ_MENU),
        turn.button("button.service", SERVICE_MENU),
        turn.button("button.handoff", HANDOFF),
    ]


def welcome(turn: Turn) -> None:
    name = turn.guest.name.strip()
    greeting = turn.t("greeting_named", name=name) if name else turn.t("greeting_plain")
    hotel = localize(turn.hotel.hotel.names, turn.locale)
    turn.say("welcome", buttons=main_buttons(turn), greeting=greeting, hotel=hotel)


def faq_menu(turn: Turn) -> None:
    buttons = [Button(turn.t(f"faq_topic.{topic}"), f"{FAQ_PREFIX}{topic}") for topic in turn.hotel.faq]
    turn.say("faq.menu", buttons=buttons)


def faq_answer(turn: Turn, topic: str | None) -> bool:
    """Answer from config; False when the hotel has no answer for that topic."""
    if topic is None or topic not in turn.hotel.faq:
        return False
    turn.say_text(localize(turn.hotel.faq[topic], turn.locale))
    return True


def service_menu(turn: Turn) -> None:
    turn.say("service.menu")


def hello(turn: Turn) -> None:
    turn.say("hello", buttons=main_buttons(turn))


def thanks(turn: Turn) -> None:
    turn.say("praise.thanks")


def fallback(turn: Turn, *, again: bool = False) -> None:
    turn.say("fallback.again" if again else "fallback", buttons=[turn.button("button.handoff", HANDOFF), turn.button("button.faq", FAQ_MENU)])
