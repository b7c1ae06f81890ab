"""Shared bits of dashboard markup: local times, SLA countdowns, labels, conversation lines."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from bot.staff.auth import StaffContext
from bot.staff.html import Html, fmt, join
from crm.models import Message, Ticket
from crm.types import utcnow
from handlers.i18n import localize


def local(ctx: StaffContext, moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    if moment is None:
        return "—"
    return moment.astimezone(ctx.deps.settings.hotel.zone).strftime(pattern)


def countdown(ctx: StaffContext, due: datetime | None, done: datetime | None = None) -> Html:
    """An SLA badge: minutes left or overdue; staff.js keeps it ticking without a reload."""
    if due is None:
        return Html("—")
    if done is not None:
        key = "dash.sla.met" if done <= due else "dash.sla.missed"
        return fmt('<span class="sla {}">{}</span>', "ok" if done <= due else "late", ctx.t(key))
    minutes = int((due - utcnow()).total_seconds() // 60)
    state = "late" if minutes < 0 else "warn" if minutes < 10 else "ok"
    text = ctx.t("dash.sla.late", minutes=-minutes) if minutes < 0 else ctx.t("dash.sla.left", minutes=minutes)
    return fmt(
        '<span class="sla {}" data-due="{}" data-left="{}" data-late="{}">{}</span>',
        state, due.isoformat(), ctx.t("dash.sla.left", minutes="{m}"), ctx.t("dash.sla.late", minutes="{m}"), text,
    )


def category(ctx: StaffContext, code: str | None) -> str:
    return ctx.t(f"category.{code}") if code else "—"


def department(ctx: StaffContext, code: str) -> str:
    name = ctx.deps.settings.departments.get(code)
    return localize(name, ctx.locale) if name is not None else code


def status(ctx: StaffContext, ticket: Ticket) -> Html:
    return fmt('<span class="badge {}">{}</span>', ticket.status, ctx.t(f"card.state.{ticket.status}"))


def priority(ctx: StaffContext, ticket: Ticket) -> Html:
    return fmt('<span class="badge p-{}">{}</span>', ticket.priority, ctx.t(f"priority.{ticket.priority}"))


def author(ctx: StaffContext, message: Message, staff_names: dict[int, str] | None = None) -> str:
    if message.author.startswith("staff:"):
        staff_id = message.author.removeprefix("staff:")
        name = (staff_names or {}).get(int(staff_id)) if staff_id.isdigit() else None
        return ctx.t("dash.author.staff", name=name or staff_id)
    return ctx.t(f"dash.author.{message.author}") if message.author in ("guest", "bot") else message.author


def conversation(ctx: StaffContext, messages: Iterable[Message], *, highlight_ticket: int | None = None,
                 staff_names: dict[int, str] | None = None) -> Html:
    """A chat transcript; the guest's words are escaped text, never markup."""
    items = []
    for message in messages:
        classes = f"line {message.direction} {'staff' if message.author.startswith('staff:') else ''}"
        if highlight_ticket is not None and message.ticket_id == highlight_ticket:
            classes += " mark"
        meta = " · ".join(part for part in (
            local(ctx, message.created_at), author(ctx, message, staff_names), message.channel,
            category(ctx, message.category) if message.category else "", message.sentiment or "",
        ) if part)
        items.append(fmt('<li class="{}"><div class="meta">{}</div><div class="text">{}</div></li>',
                         classes.strip(), meta, message.text))
    if not items:
        return fmt('<p class="muted">{}</p>', ctx.t("dash.none"))
    return fmt('<ol class="transcript">{}</ol>', join(items))
