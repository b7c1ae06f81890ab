"""Preferences the analyser noticed ("枕头太高" → pillow: low) and the guest's chosen language."""

from __future__ import annotations

from crm.guests import remember_preference
from handlers import phrases
from handlers.context import Turn
from handlers.types import Button

LANGUAGE_PREFIX = "lang:"
LANGUAGE_KEY = "language"
_LABELS = {"zh-Hans": "简体中文", "zh-Hant": "繁體中文", "en": "English"}


async def learn(turn: Turn) -> None:
    """Store what the message revealed, with the message it came from."""
    if turn.analysis is None or not turn.analysis.preferences:
        return
    for key, value in turn.analysis.preferences.items():
        await remember_preference(
            turn.session, turn.guest.id or 0, key, str(value), source="learned", message_id=turn.message_id
        )


async def language_command(turn: Turn) -> None:
    choice = phrases.language_choice(turn.inbound.text) if turn.inbound.text.strip() else None
    if choice is None:
        buttons = [Button(label, f"{LANGUAGE_PREFIX}{code}") for code, label in _LABELS.items()]
        turn.say("language.choose", buttons=buttons)
        return
    await _set_language(turn, choice)


async def language_button(turn: Turn) -> None:
    choice = (turn.inbound.button or "").removeprefix(LANGUAGE_PREFIX)
    if choice not in _LABELS:
        turn.say("fallback")
        return
    await _set_language(turn, choice)


async def _set_language(turn: Turn, locale: str) -> None:
    """An explicit choice outranks detection from then on (stored as a stated preference)."""
    turn.guest.language = locale
    turn.locale = locale
    await turn.session.flush()
    await remember_preference(turn.session, turn.guest.id or 0, LANGUAGE_KEY, locale, source="stated", message_id=turn.message_id)
    turn.say("language.set")
