"""Tickets and their timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from crm.models import Ticket, TicketEvent
from crm.types import utcnow


@dataclass(frozen=True)
class TicketSpec:
    """What a new ticket needs; the SLA comes from the hotel's configuration, not from the store."""

    guest_id: int
    category: str
    department: str
    priority: str
    channel: str
    summary: str
    respond_minutes: int
    resolve_minutes: int
    room_number: str | None = None


async def open_ticket(session: AsyncSession, spec: TicketSpec, *, now: datetime | None = None) -> Ticket:
    now = now or utcnow()
    ticket = Ticket(
        guest_id=spec.guest_id,
        category=spec.category,
        department=spec.department,
        priority=spec.priority,
        channel=spec.channel,
        summary=spec.summary[:2000],
        room_number=spec.room_number,
        respond_due=now + timedelta(minutes=spec.respond_minutes),
        resolve_due=now + timedelta(minutes=spec.resolve_minutes),
        created_at=now,
        updated_at=now,
    )
    session.add(ticket)
    await session.flush()
    await add_event(session, ticket, "created", note=spec.summary[:2000], now=now)
    return ticket


async def add_event(
    session: AsyncSession, ticket: Ticket, kind: str, *, actor: str = "bot", note: str = "", now: datetime | None = None
) -> TicketEvent:
    """Inserted with the transaction's next flush (several events of a turn go in one statement)."""
    assert ticket.id is not None
    now = now or utcnow()
    event = TicketEvent(ticket_id=ticket.id, kind=kind, actor=actor, note=note[:2000], created_at=now)
    ticket.updated_at = now
    session.add(event)
    return event


async def timeline(session: AsyncSession, ticket_id: int) -> list[TicketEvent]:
    result = await session.execute(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.created_at, TicketEvent.id)
    )
    return list(result.scalars())


async def open_tickets_of(session: AsyncSession, guest_id: int) -> list[Ticket]:
    result = await session.execute(
        select(Ticket)
        .where(Ticket.guest_id == guest_id, Ticket.status.in_(("open", "claimed")))  # type: ignore[attr-defined]
        .order_by(Ticket.id.desc())  # type: ignore[union-attr]
    )
    return list(result.scalars())
