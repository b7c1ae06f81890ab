"""What flows in and out of handlers: channel-neutral, with no trace of Telegram or HTTP."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_COMMAND = re.compile(r"^/([A-Za-z_]{1,32})(?:@\w+)?(?:\s+(.*))?$", re.S)
MAX_ID_DIGITS = 12  # more than any row id we will have; far below where a database integer overflows
_ASCII_NUMBER = re.compile(r"[0-9]{1,%d}" % MAX_ID_DIGITS)


def parse_number(text: str) -> int | None:
    """A number from a button value or a typed count: ASCII digits only, at most 12 of them; None for
    anything else. ``str.isdigit()`` accepts "²" and "٣", which ``int()`` then refuses or reads as another
    digit, and 55 digits overflow every integer column a lookup compares against."""
    return int(text) if _ASCII_NUMBER.fullmatch(text) else None


@dataclass(frozen=True)
class Button:
    label: str
    value: str  # at most 64 bytes: it travels as Telegram callback data

    def as_dict(self) -> dict[str, str]:
        return {"label": self.label, "value": self.value}


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[Button, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {"text": self.text, "buttons": [button.as_dict() for button in self.buttons]}


@dataclass(frozen=True)
class Inbound:
    """One thing a guest did: typed text, pressed a button, or sent a command."""

    channel: str
    external_id: str
    text: str = ""
    button: str | None = None
    command: str | None = None
    chat_id: str | None = None
    display_name: str = ""
    language_hint: str | None = None  # the client's language setting, used for a brand-new guest
    truncated: bool = False
    silent: bool = False  # the guest left the channel (unfollowed): record what follows, send nothing back


@dataclass
class Outcome:
    """The handler's result: replies for the guest, and the ticket the message belongs to (if any)."""

    replies: list[Reply] = field(default_factory=list)
    ticket_id: int | None = None


def split_command(text: str) -> tuple[str | None, str]:
    """``/language en`` → ("language", "en"); anything else → (None, text). Channels share this rule."""
    match = _COMMAND.match(text.strip())
    if match is None:
        return None, text
    return match.group(1).lower(), (match.group(2) or "").strip()
