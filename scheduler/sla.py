"""SLA sweep: a ticket past its due time escalates one level and is posted to the staff chat.

Levels: 1 when the first response is overdue, 2 when resolution is overdue, 3 when it is still open one
more resolution period later. One level per sweep and one staff post per level (dedupe key
``sla:<ticket>:<level>``), so a sweep that runs twice, or after a restart, never posts twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_
from sqlmodel import select

from crm.db import Database
from crm.models import Outbox, Ticket
from crm.outbox import enqueue
from crm.ticket_work import readers_language
from crm.tickets import add_event
from crm.types import utcnow
from scheduler.context import CampaignContext

MAX_LEVEL = 3
OPEN = ("open", "claimed")


def target_level(ticket: Ticket, now: datetime) -> int:
    """How far this ticket should be escalated by now."""
    level = 0
    if ticket.respond_due is not None and ticket.first_response_at is None and ticket.respond_due < now:
        level = 1
    if ticket.resolve_due is not None and ticket.resolve_due < now:
        level = 2
        period = ticket.resolve_due - ticket.created_at
        if period.total_seconds() > 0 and ticket.resolve_due + period < now:
            level = 3
    return min(level, MAX_LEVEL)


async def sweep_sla(db: Database, ctx: CampaignContext, now: datetime | None = None) -> int:
    """Escalate overdue tickets one level each; returns how many were escalated."""
    now = now or utcnow()
    escalated = 0
    async with db.write() as session:
        overdue = or_(
            Ticket.resolve_due < now,  # type: ignore[operator]
            (Ticket.respond_due < now) & (Ticket.first_response_at.is_(None)),  # type: ignore[operator,union-attr]
        )
        query = select(Ticket).where(Ticket.status.in_(OPEN), overdue, Ticket.escalation_level < MAX_LEVEL)  # type: ignore[attr-defined,operator]
        for ticket in (await session.execute(query)).scalars():
            if target_level(ticket, now) <= ticket.escalation_level:
                continue
            ticket.escalation_level += 1
            level = ticket.escalation_level
            language = await readers_language(session, ticket)  # the card's readers', when they share one
            locale = ctx.locale(language) if language else ctx.staff_locale
            what = ctx.text(locale, "campaign.sla.resolve" if level >= 2 else "campaign.sla.respond")
            due = ticket.resolve_due if level >= 2 else ticket.respond_due
            text = ctx.text(
                locale,
                "campaign.sla.staff",
                ticket=ticket.id,
                what=what,
                level=level,
                category=ctx.text(locale, f"category.{ticket.category}"),
                department=ctx.departments.get(ticket.department, ticket.department),
                due=due.astimezone(ctx.zone).strftime("%m-%d %H:%M") if due else "—",
                summary=ticket.summary[:300],
            )
            await add_event(session, ticket, "escalated", actor="sla", note=f"SLA level {level}: {what}", now=now)
            await enqueue(session, Outbox(
                channel="staff", kind="staff", text=text, ticket_id=ticket.id, dedupe_key=f"sla:{ticket.id}:{level}",
            ))
            escalated += 1
    return escalated
