"""What the dashboard pages say, before it becomes markup: local times, SLA countdowns, labels,
conversation lines and links.

Everything here returns plain text or small records; the templates (``bot/staff/templates``) make the
markup and Jinja's autoescape escapes it, so nothing in this module has to think about HTML.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from urllib.parse import urlencode

from bot.staff.deps import StaffDeps
from crm.models import Message
from crm.types import utcnow
from handlers.i18n import localize
from handlers.types import parse_number


class StaffView(Protocol):
    """What labelling needs of a request (``auth.StaffContext`` is one): named here, not imported, because
    pages render through these helpers and auth renders through pages."""

    deps: StaffDeps
    locale: str

    def t(self, key: str, **values: object) -> str: ...
    def t_or(self, key: str, fallback: str) -> str: ...


def local(ctx: StaffView, moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """A moment in the hotel's time zone: staff think in the hotel's clock, not in UTC."""
    if moment is None:
        return "—"
    return moment.astimezone(ctx.deps.settings.hotel.zone).strftime(pattern)


@dataclass(frozen=True)
class Sla:
    """An SLA badge: ``state`` is its colour (ok / warn / late). A running one carries ``due`` and the two
    wordings with ``{m}`` in them, so staff.js can keep the minutes ticking without a reload."""

    state: str
    text: str
    due: str = ""
    left: str = ""
    late: str = ""


def sla(ctx: StaffView, due: datetime | None, done: datetime | None = None) -> Sla | None:
    """Minutes left or overdue for a deadline; met / missed once ``done``; None without a deadline."""
    if due is None:
        return None
    if done is not None:
        return Sla("ok" if done <= due else "late", ctx.t("dash.sla.met" if done <= due else "dash.sla.missed"))
    minutes = int((due - utcnow()).total_seconds() // 60)
    state = "late" if minutes < 0 else "warn" if minutes < 10 else "ok"
    text = ctx.t("dash.sla.late", minutes=-minutes) if minutes < 0 else ctx.t("dash.sla.left", minutes=minutes)
    return Sla(state, text, due.isoformat(), ctx.t("dash.sla.left", minutes="{m}"), ctx.t("dash.sla.late", minutes="{m}"))


def label(ctx: StaffView, group: str, code: str | None) -> str:
    """A stored code (channel, booking status, language, sentiment…) as staff read it: ``dash.<group>.<code>``
    from the catalogs, the code itself only for one the catalogs do not know yet."""
    return ctx.t_or(f"dash.{group}.{code}", code) if code else "—"


def guest_label(ctx: StaffView, guest_id: int, name: str = "") -> str:
    """A guest is "G12" (or their name), so they are never mistaken for ticket "#12"."""
    return name or ctx.t("dash.guest_number", id=guest_id)


def room_type(ctx: StaffView, code: str) -> str:
    room = ctx.deps.settings.room_type(code)
    return localize(room.names, ctx.locale) if room is not None else code


def preference(ctx: StaffView, key: str, value: str) -> str:
    """"低枕头" rather than "pillow · low" (the wording pre-arrival messages already use)."""
    if key == "language":
        return f"{ctx.t('dash.field.language')}: {label(ctx, 'language', value)}"
    return ctx.t_or(f"campaign.pref.{key}.{value}", f"{key}: {value}")


def category(ctx: StaffView, code: str | None) -> str:
    return ctx.t(f"category.{code}") if code else "—"


def department(ctx: StaffView, code: str) -> str:
    name = ctx.deps.settings.departments.get(code)
    return localize(name, ctx.locale) if name is not None else code


def author(ctx: StaffView, message: Message, staff_names: dict[int, str] | None = None) -> str:
    if message.author.startswith("staff:"):
        staff_id = message.author.removeprefix("staff:")
        number = parse_number(staff_id)
        name = (staff_names or {}).get(number) if number is not None else None
        return ctx.t("dash.author.staff", name=name or staff_id)
    return ctx.t(f"dash.author.{message.author}") if message.author in ("guest", "bot") else message.author


@dataclass(frozen=True)
class Line:
    """One line of a transcript: its CSS classes, the who/when/where line above it, and the words."""

    classes: str
    meta: str
    text: str
    ticket_id: int | None = None


_PRESSED = re.compile(r"^\[(.{1,64})\]$")  # how a pressed button is logged ("[chg:confirm]")


def transcript(ctx: StaffView, messages: Iterable[Message], *, highlight_ticket: int | None = None,
               staff_names: dict[int, str] | None = None) -> list[Line]:
    """A chat transcript, oldest first; lines that belong to ``highlight_ticket`` are marked. A pressed
    button reads as the label the guest saw on it (from the bot's line that offered it), not its value."""
    lines = []
    offered: dict[str, str] = {}
    for message in messages:
        classes = f"line {message.direction} {'staff' if message.author.startswith('staff:') else ''}"
        if highlight_ticket is not None and message.ticket_id == highlight_ticket:
            classes += " mark"
        meta = " · ".join(part for part in (
            local(ctx, message.created_at), author(ctx, message, staff_names), label(ctx, "channel", message.channel),
            category(ctx, message.category) if message.category else "",
            label(ctx, "sentiment", message.sentiment) if message.sentiment else "",
        ) if part)
        lines.append(Line(classes.strip(), meta, worded(ctx, message, offered), message.ticket_id))
    return lines


def worded(ctx: StaffView, message: Message, offered: dict[str, str]) -> str:
    """A line's text for staff, reading messages in order: an outbound line's buttons are remembered in
    ``offered`` (value → label), so that a later "[chg:confirm]" reads "▸ pressed “Confirm change”"."""
    if message.direction == "out":
        for button in (message.analysis or {}).get("buttons", []):
            if isinstance(button, dict) and "value" in button and "label" in button:
                offered[str(button["value"])] = str(button["label"])
        return message.text
    pressed = _PRESSED.match(message.text)
    if pressed is None:
        return message.text
    return ctx.t("dash.pressed", label=offered.get(pressed.group(1)) or ctx.t("dash.button"))


def fold_before(lines: list[Line], ticket_id: int) -> tuple[list[Line], list[Line]]:
    """(earlier history, the ticket's part): a ticket page opens at the ticket's first line."""
    start = next((index for index, line in enumerate(lines) if line.ticket_id == ticket_id), 0)
    return lines[:start], lines[start:]


def url(path: str, **query: object) -> str:
    """A link with query parameters; empty values are left out (a filter form's blank choices)."""
    params = {k: str(v) for k, v in query.items() if v not in (None, "")}
    return f"{path}?{urlencode(params)}" if params else path
