"""What staff do to a ticket — claim, reassign, resolve, note, reply to the guest — from any surface.

The Telegram staff chat and the web dashboard call the same functions, so a claim made in one shows in
the other and the timeline tells one story. Each change that the staff chat's card should reflect queues
one ``staff_card`` outbox row; the Telegram side re-renders the card from the ticket when it sends it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from crm.conversation import take_over
from crm.messages import log_message
from crm.models import ChannelIdentity, Message, Outbox, StaffUser, Ticket
from crm.outbox import enqueue
from crm.staff import role_at_least
from crm.tickets import add_event
from crm.types import utcnow

OPEN_STATUSES = ("open", "claimed")
REPLY_CHANNELS = frozenset({"telegram", "web", "wechat", "whatsapp", "line"})  # channels that can carry a message staff start
CARD_CHANNEL = "staff_card"
MAX_REPLY = 4000
MAX_NOTE = 2000


class WorkError(ValueError):
    """The action is not possible now; ``code`` names why (a catalog key suffix), for the caller to word."""

    def __init__(self, code: str, **details: object) -> None:
        super().__init__(code)
        self.code = code
        self.details = details


def actor_of(user: StaffUser) -> str:
    return f"staff:{user.id}"


def can_see(user: StaffUser, ticket: Ticket) -> bool:
    """Agents work their own department's tickets (and any assigned to them); managers and admins all."""
    if role_at_least(user.role, "manager"):
        return True
    return ticket.assignee_id == user.id or (user.department is not None and ticket.department == user.department)


async def readers_language(session: AsyncSession, ticket: Ticket) -> str | None:
    """The language the ticket's Telegram readers share — the active staff with Telegram who may see it
    (its department's agents, managers, admins) — or None when they differ or nobody chose one; a card
    is read by all of them, so it can only be in one language."""
    result = await session.execute(
        select(StaffUser.language, StaffUser.role, StaffUser.department).where(
            StaffUser.active.is_(True), StaffUser.telegram_user_id.is_not(None)  # type: ignore[attr-defined,union-attr]
        )
    )
    languages = {language for language, role, department in result.all()
                 if role_at_least(role, "manager") or department == ticket.department}
    return languages.pop() if len(languages) == 1 else None


async def get_for(session: AsyncSession, user: StaffUser, ticket_id: int, *, lock: bool = False) -> Ticket:
    ticket = await session.get(Ticket, ticket_id, with_for_update=lock)
    if ticket is None:
        raise WorkError("not_found", ticket=ticket_id)
    if not can_see(user, ticket):
        raise WorkError("forbidden", ticket=ticket_id)
    return ticket


def _first_response(ticket: Ticket, now: datetime) -> None:
    if ticket.first_response_at is None:
        ticket.first_response_at = now


async def refresh_card(session: AsyncSession, ticket: Ticket) -> None:
    """Queue an update of the ticket's staff-chat card, if it has one and no update is already queued."""
    posted = await session.execute(
        select(Outbox.id).where(Outbox.channel == "staff", Outbox.ticket_id == ticket.id, Outbox.kind == "staff").limit(1)
    )
    if posted.first() is None:
        return
    queued = await session.execute(
        select(Outbox.id).where(
            Outbox.channel == CARD_CHANNEL, Outbox.ticket_id == ticket.id, Outbox.status == "pending"
        ).limit(1)
    )
    if queued.first() is None:
        await enqueue(session, Outbox(channel=CARD_CHANNEL, kind="card", text="", ticket_id=ticket.id))


async def claim(session: AsyncSession, user: StaffUser, ticket_id: int, *, now: datetime | None = None) -> Ticket:
    now = now or utcnow()
    ticket = await get_for(session, user, ticket_id, lock=True)
    if ticket.status not in OPEN_STATUSES:
        raise WorkError("closed", ticket=ticket_id)
    if ticket.assignee_id == user.id:
        return ticket
    if ticket.status == "claimed" and ticket.assignee_id is not None:
        owner = await session.get(StaffUser, ticket.assignee_id)
        raise WorkError("taken", ticket=ticket_id, name=owner.name if owner else "?")
    ticket.status, ticket.assignee_id = "claimed", user.id
    _first_response(ticket, now)
    await add_event(session, ticket, "claimed", actor=actor_of(user), note=user.name, now=now)
    await refresh_card(session, ticket)
    return ticket


async def reassign(
    session: AsyncSession, user: StaffUser, ticket_id: int, assignee_id: int, *, now: datetime | None = None
) -> Ticket:
    """Give the ticket to someone else: managers may always, the current assignee may hand it on."""
    now = now or utcnow()
    ticket = await get_for(session, user, ticket_id, lock=True)
    if not (role_at_least(user.role, "manager") or ticket.assignee_id == user.id):
        raise WorkError("forbidden", ticket=ticket_id)
    if ticket.status not in OPEN_STATUSES:
        raise WorkError("closed", ticket=ticket_id)
    assignee = await session.get(StaffUser, assignee_id)
    if assignee is None or not assignee.active:
        raise WorkError("no_such_staff", ticket=ticket_id)
    ticket.status, ticket.assignee_id = "claimed", assignee.id
    await add_event(session, ticket, "reassigned", actor=actor_of(user), note=assignee.name, now=now)
    await refresh_card(session, ticket)
    return ticket


async def resolve(
    session: AsyncSession, user: StaffUser, ticket_id: int, root_cause: str = "", *, now: datetime | None = None
) -> Ticket:
    now = now or utcnow()
    ticket = await get_for(session, user, ticket_id, lock=True)
    if ticket.status not in OPEN_STATUSES:
        raise WorkError("closed", ticket=ticket_id)
    note = root_cause.strip()[:MAX_NOTE]
    ticket.status, ticket.resolved_at = "resolved", now
    if ticket.assignee_id is None:
        ticket.assignee_id = user.id
    if note:
        ticket.root_cause = note
    _first_response(ticket, now)
    await add_event(session, ticket, "resolved", actor=actor_of(user), note=note, now=now)
    await refresh_card(session, ticket)
    return ticket


async def add_note(session: AsyncSession, user: StaffUser, ticket_id: int, note: str, *, now: datetime | None = None) -> Ticket:
    """An internal note, or the root cause when given after resolution; never shown to the guest."""
    ticket = await get_for(session, user, ticket_id, lock=True)
    text = note.strip()[:MAX_NOTE]
    if not text:
        raise WorkError("empty", ticket=ticket_id)
    if ticket.status not in OPEN_STATUSES:
        ticket.root_cause = text
    await add_event(session, ticket, "note", actor=actor_of(user), note=text, now=now)
    return ticket


async def reply_address(session: AsyncSession, ticket: Ticket) -> ChannelIdentity | None:
    """Where the guest of this ticket can be reached on the ticket's channel (their latest identity)."""
    result = await session.execute(
        select(ChannelIdentity)
        .where(ChannelIdentity.guest_id == ticket.guest_id, ChannelIdentity.channel == ticket.channel)
        .order_by(ChannelIdentity.id.desc())  # type: ignore[union-attr]
        .limit(1)
    )
    return result.scalar_one_or_none()


async def tell_guest(
    session: AsyncSession, ticket: Ticket, text: str, *, dedupe_key: str | None = None, now: datetime | None = None
) -> Outbox | None:
    """A line from the bot to the ticket's guest, started by the hotel (not an answer to their message):
    queued on the ticket's channel and logged with the ticket. None when the guest cannot be reached
    there, or when ``dedupe_key`` was queued before (then nothing is logged either)."""
    address = await reply_address(session, ticket) if ticket.channel in REPLY_CHANNELS else None
    if address is None or not address.chat_id:
        return None
    row = await enqueue(session, Outbox(channel=ticket.channel, chat_id=address.chat_id, guest_id=ticket.guest_id,
                                        kind="reply", text=text, ticket_id=ticket.id, dedupe_key=dedupe_key))
    if row is not None:
        await log_message(session, Message(guest_id=ticket.guest_id, channel=ticket.channel, direction="out",
                                           author="bot", text=text, ticket_id=ticket.id, created_at=now or utcnow()))
    return row


@dataclass(frozen=True)
class Relayed:
    ticket: Ticket
    message: Message
    outbox: Outbox


async def reply(
    session: AsyncSession, user: StaffUser, ticket_id: int, text: str, *, now: datetime | None = None
) -> Relayed:
    """Send the staff member's words to the guest on the ticket's channel, logged like any other line."""
    now = now or utcnow()
    body = text.strip()
    if not body:
        raise WorkError("empty", ticket=ticket_id)
    body = body[:MAX_REPLY]
    ticket = await get_for(session, user, ticket_id, lock=True)
    address = await reply_address(session, ticket) if ticket.channel in REPLY_CHANNELS else None
    if address is None or not address.chat_id:
        raise WorkError("unreachable", ticket=ticket_id, channel=ticket.channel)
    message = await log_message(
        session,
        Message(guest_id=ticket.guest_id, channel=ticket.channel, direction="out", author=actor_of(user),
                text=body, ticket_id=ticket.id, created_at=now),
    )
    row = Outbox(channel=ticket.channel, chat_id=address.chat_id, guest_id=ticket.guest_id, kind="reply",
                 text=body, ticket_id=ticket.id)
    await enqueue(session, row)
    if ticket.status == "open":
        ticket.status, ticket.assignee_id = "claimed", user.id
    _first_response(ticket, now)
    await take_over(session, ticket.guest_id, ticket.id or 0, user.id or 0, now)  # the guest's answer is theirs
    await add_event(session, ticket, "replied", actor=actor_of(user), note=body, now=now)
    await refresh_card(session, ticket)
    return Relayed(ticket, message, row)


def staff_message_key(chat_id: int | str, message_id: int | str) -> str:
    """A staff-chat message's outbox ``external_id``: message ids are only unique within one chat."""
    return f"{chat_id}:{message_id}"


async def ticket_of_staff_message(session: AsyncSession, chat_id: int | str, message_id: int | str) -> int | None:
    """The ticket whose card (or reply prompt) is this message in a staff chat, for reply-to-card relay."""
    result = await session.execute(
        select(Outbox.ticket_id).where(
            Outbox.channel == "staff", Outbox.external_id == staff_message_key(chat_id, message_id), Outbox.ticket_id.is_not(None)  # type: ignore[union-attr]
        ).order_by(Outbox.id.desc()).limit(1)  # type: ignore[union-attr]
    )
    found = result.scalar_one_or_none()
    return int(found) if found is not None else None


async def has_held(session: AsyncSession, channel: str, chat_id: str) -> bool:
    """Whether anything waits for this chat (a cheap read, so most visits need no write transaction)."""
    found = await session.execute(
        select(Outbox.id).where(Outbox.channel == channel, Outbox.chat_id == chat_id, Outbox.status == "held").limit(1)
    )
    return found.first() is not None


async def release_held(session: AsyncSession, channel: str, chat_id: str) -> int:
    """Messages held because the guest was away (no open web chat) become due again when they return."""
    result = await session.execute(
        update(Outbox)
        .where(Outbox.channel == channel, Outbox.chat_id == chat_id, Outbox.status == "held")  # type: ignore[arg-type]
        .values(status="pending", next_attempt_at=utcnow())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
