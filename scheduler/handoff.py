"""Hand-off sweep: what a guest held by staff is told without writing again.

A guest waiting for a person may never write again, so waiting on their next message tells them nothing.
Run with the SLA sweep, this

* returns to the bot a conversation whose staff member has been silent for ``handoff_release_minutes``
  and tells the guest (``handoff.returned_silence``), with a ``returned_to_bot`` event on the ticket;
* tells a guest still waiting for a first answer, once, that it runs late (``handoff.late``) when the
  hand-off ticket's first-response time has passed — the SLA sweep reminds staff at the same moment.

Each is one conditional update of the conversation (``crm.conversation``) and the guest's outbox row in
the same transaction, the row with a dedupe key: a second sweep, another worker, or the guest's own turn
that got there first (handlers/holding.py does the same when they write) leaves the others nothing to do.
Messages are in the guest's language, on the ticket's channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from crm.conversation import LATE_TOLD, mark_told_late, release_if_silent
from crm.db import Database
from crm.models import ConversationState, Guest, Ticket
from crm.ticket_work import OPEN_STATUSES, tell_guest
from crm.tickets import add_event
from scheduler.context import CampaignContext


@dataclass
class HandoffReport:
    returned: int = 0  # conversations given back to the bot after staff silence
    told_late: int = 0  # waiting guests told that the first answer runs late


async def _tell(session: AsyncSession, ctx: CampaignContext, ticket: Ticket, key: str, dedupe_key: str,
                now: datetime) -> None:
    guest = await session.get(Guest, ticket.guest_id)
    text = ctx.text(ctx.locale(guest.language if guest else None), key, ticket=ticket.id)
    await tell_guest(session, ticket, text, dedupe_key=dedupe_key, now=now)


async def _return_silent(session: AsyncSession, ctx: CampaignContext, now: datetime) -> int:
    silent_since = now - timedelta(minutes=ctx.handoff_release_minutes)
    state = ConversationState
    query = select(state.guest_id, state.handoff_ticket_id, state.staff_active_at).where(
        state.handoff.is_(True), state.staff_id.is_not(None), state.staff_active_at < silent_since  # type: ignore[attr-defined,union-attr,operator]
    )
    returned = 0
    for guest_id, ticket_id, active_at in (await session.execute(query)).all():
        if not await release_if_silent(session, guest_id, silent_since):
            continue  # staff wrote, or the guest's turn or another sweep released it, since the read
        returned += 1
        ticket = await session.get(Ticket, ticket_id) if ticket_id else None
        if ticket is None:
            continue
        await add_event(session, ticket, "returned_to_bot", note="staff silent", now=now)
        key = f"handoff:silence:{guest_id}:{ticket.id}:{int(active_at.timestamp())}"  # one per silence
        await _tell(session, ctx, ticket, "handoff.returned_silence", key, now)
    return returned


async def _tell_late(session: AsyncSession, ctx: CampaignContext, now: datetime) -> int:
    state = ConversationState
    query = (
        select(state.guest_id, Ticket)
        .join(Ticket, Ticket.id == state.handoff_ticket_id)  # type: ignore[arg-type]
        .where(
            state.handoff.is_(True), state.staff_id.is_(None), state.waiting_notice < LATE_TOLD,  # type: ignore[attr-defined,union-attr,operator]
            Ticket.status.in_(OPEN_STATUSES), Ticket.first_response_at.is_(None), Ticket.respond_due < now,  # type: ignore[attr-defined,union-attr,operator]
        )
    )
    told = 0
    for guest_id, ticket in (await session.execute(query)).all():
        if await mark_told_late(session, guest_id, ticket.id or 0):
            await _tell(session, ctx, ticket, "handoff.late", f"handoff:late:{ticket.id}", now)
            told += 1
    return told


async def sweep_handoffs(db: Database, ctx: CampaignContext, now: datetime) -> HandoffReport:
    report = HandoffReport()
    async with db.write() as session:
        report.returned = await _return_silent(session, ctx, now)
        report.told_late = await _tell_late(session, ctx, now)
    return report
