"""What the dashboard pages say, before it becomes markup: local times, SLA countdowns, labels,
conversation lines and links.

Everything here returns plain text or small records; the templates (``bot/staff/templates``) make the
markup and Jinja's autoescape escapes it, so nothing in this module has to think about HTML.
"""

from __future__ import annotations

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


def transcript(ctx: StaffView, messages: Iterable[Message], *, highlight_ticket: int | None = None,
               staff_names: dict[int, str] | None = None) -> list[Line]:
    """A chat transcript, oldest first; lines that belong to ``highlight_ticket`` are marked."""
    lines = []
    for message in messages:
        classes = f"line {message.direction} {'staff' if message.author.startswith('staff:') else ''}"
        if highlight_ticket is not None and message.ticket_id == highlight_ticket:
            classes += " mark"
        meta = " · ".join(part for part in (
            local(ctx, message.created_at), author(ctx, message, staff_names), message.channel,
            category(ctx, message.category) if message.category else "", message.sentiment or "",
        ) if part)
        lines.append(Line(classes.strip(), meta, message.text))
    return lines


def url(path: str, **query: object) -> str:
    """A link with query parameters; empty values are left out (a filter form's blank choices)."""
    params = {k: str(v) for k, v in query.items() if v not in (None, "")}
    return f"{path}?{urlencode(params)}" if params else path
