"""The store's tables (sqlmodel). One module so that Alembic and the tests see the whole schema at once.

Conventions: integer surrogate keys; every timestamp is UTC (``UTCDateTime``); JSON columns hold data
that is only ever read whole (analysis, slots, buttons, raw updates).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm.types import UTCDateTime, utcnow


def _ts(nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def _created() -> Any:
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True))


def _json(default_factory: Any = dict) -> Any:
    return Field(default_factory=default_factory, sa_column=Column(JSON, nullable=False))


class Guest(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(default="", max_length=200)
    surname: str = Field(default="", max_length=100)
    language: str = Field(default="zh-Hans", max_length=8)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=200)
    birthday: date | None = None
    birthday_lunar: bool = False
    timezone: str | None = Field(default=None, max_length=64)
    tier: str = Field(default="member", max_length=20)
    points: int = 0
    marketing_consent: bool = False
    consent_at: datetime | None = _ts(nullable=True)
    consent_source: str | None = Field(default=None, max_length=100)
    room_number: str | None = Field(default=None, max_length=10)
    created_at: datetime = _created()


class ChannelIdentity(SQLModel, table=True):
    """How a guest is reached on one channel: Telegram user/chat, web chat session."""

    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_identity_channel_external"),)
    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=20)
    external_id: str = Field(max_length=100)
    chat_id: str | None = Field(default=None, max_length=100)
    display_name: str = Field(default="", max_length=200)
    guest_id: int = Field(foreign_key="guest.id", index=True)
    created_at: datetime = _created()


class InboxUpdate(SQLModel, table=True):
    """Durable inbox: a channel's raw update, committed before the channel is told it arrived."""

    __table_args__ = (
        UniqueConstraint("channel", "update_id", name="uq_inbox_channel_update"),
        Index("ix_inbox_status", "status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=20)
    update_id: str = Field(max_length=100)
    chat_key: str = Field(default="", max_length=100)
    payload: dict[str, Any] = _json()
    status: str = Field(default="pending", max_length=12)  # pending | done | failed
    attempts: int = 0
    error: str | None = Field(default=None, max_length=500)
    received_at: datetime = _created()
    processed_at: datetime | None = _ts(nullable=True)


class Message(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    guest_id: int = Field(foreign_key="guest.id", index=True)
    channel: str = Field(max_length=20)
    direction: str = Field(max_length=3)  # in | out
    author: str = Field(default="guest", max_length=40)  # guest | bot | staff:<id>
    text: str
    language: str | None = Field(default=None, max_length=8)
    category: str | None = Field(default=None, max_length=20, index=True)
    sentiment: str | None = Field(default=None, max_length=10)
    confidence: float | None = None
    analysis: dict[str, Any] = _json()
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    inbox_id: int | None = Field(default=None, foreign_key="inboxupdate.id", index=True)
    created_at: datetime = _created()


class Ticket(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    guest_id: int = Field(foreign_key="guest.id", index=True)
    category: str = Field(max_length=20, index=True)
    department: str = Field(max_length=40, index=True)
    priority: str = Field(default="normal", max_length=10)
    status: str = Field(default="open", max_length=12, index=True)  # open | claimed | resolved | closed
    channel: str = Field(max_length=20)
    room_number: str | None = Field(default=None, max_length=10)
    summary: str = Field(default="", max_length=2000)
    respond_due: datetime | None = _ts(nullable=True)
    resolve_due: datetime | None = _ts(nullable=True, index=True)
    first_response_at: datetime | None = _ts(nullable=True)
    resolved_at: datetime | None = _ts(nullable=True)
    assignee_id: int | None = Field(default=None, foreign_key="staffuser.id")
    escalation_level: int = 0
    root_cause: str | None = Field(default=None, max_length=2000)  # the staff's note on why it happened
    created_at: datetime = _created()
    updated_at: datetime = _created()


class TicketEvent(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    kind: str = Field(max_length=30)  # created | acknowledged | escalated | claimed | replied | resolved | ...
    actor: str = Field(default="bot", max_length=60)
    note: str = Field(default="", max_length=2000)
    created_at: datetime = _created()


class RoomType(SQLModel, table=True):
    """Mirror of the configured room types, so bookings can reference them and reports can join."""

    code: str = Field(primary_key=True, max_length=32)
    name_zh: str = Field(max_length=100)
    name_en: str = Field(max_length=100)
    capacity: int
    rate: int
    inventory: int


class Booking(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=12, unique=True, index=True)
    guest_id: int | None = Field(default=None, foreign_key="guest.id", index=True)
    room_type: str = Field(foreign_key="roomtype.code", max_length=32, index=True)
    check_in: date = Field(index=True)
    check_out: date = Field(index=True)
    guests: int = 1
    rooms: int = 1
    status: str = Field(default="confirmed", max_length=12)  # confirmed | cancelled | checked_in | checked_out
    nightly_rate: int = 0
    total_price: int = 0
    surname: str = Field(default="", max_length=100)  # the booker's, as they gave it: proves ownership later
    booker_name: str = Field(default="", max_length=100)  # the full name the reservation is under
    phone: str | None = Field(default=None, max_length=40)
    source: str = Field(default="bot", max_length=20)
    paid_amount: int = 0  # what the hotel has received (a prepaid OTA rate); 0: nothing to refund on cancelling
    cancelled_at: datetime | None = _ts(nullable=True)
    refund_amount: int | None = None
    penalty_amount: int | None = None
    created_at: datetime = _created()


class AttachFailure(SQLModel, table=True):
    """One failed attempt to prove a booking is yours (wrong surname/phone, or a reference that does not
    exist): counted per reference and per guest over a day, so re-sending the reference resets nothing."""

    __table_args__ = (
        Index("ix_attachfailure_reference_at", "reference", "failed_at"),
        Index("ix_attachfailure_guest_at", "guest_id", "failed_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=40)  # upper-cased as typed; need not exist
    guest_id: int = Field(foreign_key="guest.id")
    failed_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class Preference(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("guest_id", "key", name="uq_preference_guest_key"),)
    id: int | None = Field(default=None, primary_key=True)
    guest_id: int = Field(foreign_key="guest.id", index=True)
    key: str = Field(max_length=40)
    value: str = Field(max_length=200)
    source: str = Field(default="learned", max_length=20)  # stated | learned
    message_id: int | None = Field(default=None, foreign_key="message.id")
    updated_at: datetime = _created()


class Survey(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    guest_id: int = Field(foreign_key="guest.id", index=True)
    booking_id: int | None = Field(default=None, foreign_key="booking.id")
    csat: int | None = None
    nps: int | None = None
    comment: str | None = Field(default=None, max_length=2000)
    created_at: datetime = _created()


class ConversationState(SQLModel, table=True):
    guest_id: int = Field(primary_key=True, foreign_key="guest.id")
    flow: str | None = Field(default=None, max_length=30)
    step: str | None = Field(default=None, max_length=30)
    slots: dict[str, Any] = _json()
    handoff: bool = False  # with staff: the bot only relays (and still files clearly new requests)
    low_confidence_streak: int = 0
    updated_at: datetime = _created()
    # Who holds the conversation while ``handoff``: the ticket it is about, the staff member who answered
    # (None while the guest waits for a first answer), when staff last wrote (silence hands it back), and
    # what the waiting guest was told (0 nothing, 1 what to expect, 2 that it runs late).
    handoff_ticket_id: int | None = None  # no foreign key: erasing a guest must not depend on the order
    staff_id: int | None = None
    staff_active_at: datetime | None = _ts(nullable=True)
    waiting_notice: int = 0


class Outbox(SQLModel, table=True):
    """Everything that must leave the building; the sender marks rows sent (or unknown after a timeout)."""

    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_lane", "status", "kind", "next_attempt_at"),  # claims take guest replies first
    )
    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=20)  # telegram | web | staff
    chat_id: str | None = Field(default=None, max_length=100)
    guest_id: int | None = Field(default=None, foreign_key="guest.id", index=True)
    kind: str = Field(default="reply", max_length=20)  # reply | staff | staff_answer | card | digest | campaign
    text: str
    buttons: list[dict[str, str]] = _json(list)
    dedupe_key: str | None = Field(default=None, max_length=120, unique=True)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id")
    # pending | sending | inflight | sent | failed | unknown | held | expired | folded (counted in a staff digest)
    status: str = Field(default="pending", max_length=10)
    attempts: int = 0
    next_attempt_at: datetime = _created()
    last_error: str | None = Field(default=None, max_length=500)
    external_id: str | None = Field(default=None, max_length=100)
    created_at: datetime = _created()
    sent_at: datetime | None = _ts(nullable=True)
    # Campaign rows: a backlog must not carry them into the guest's night or past their point
    zone: str | None = Field(default=None, max_length=64)  # the guest's IANA zone: quiet hours at send time
    expires_at: datetime | None = _ts(nullable=True)  # not sent by then: "expired" (a pre-arrival note after arrival)


class ChannelToken(SQLModel, table=True):
    """A platform access token shared by every worker (WeChat's is fetched, expires in 2 h, and fetching a
    new one retires the old: each worker fetching its own would keep invalidating the others')."""

    channel: str = Field(primary_key=True, max_length=20)
    token: str = Field(max_length=1000)
    expires_at: datetime = _ts()
    fetched_at: datetime = _ts()


class StaffUser(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    role: str = Field(default="agent", max_length=10)  # agent | manager | admin
    department: str | None = Field(default=None, max_length=40)
    password_hash: str = Field(default="", max_length=200)
    telegram_user_id: int | None = Field(default=None, unique=True)
    language: str | None = Field(default=None, max_length=8)  # cards and answers in Telegram; None: the hotel's
    active: bool = True
    created_at: datetime = _created()


class AuditLog(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    actor: str = Field(max_length=60)
    action: str = Field(max_length=60)
    target: str = Field(default="", max_length=120)
    detail: str = Field(default="", max_length=1000)
    created_at: datetime = _created()


class StaffSession(SQLModel, table=True):
    """A dashboard login. Only the token's SHA-256 is stored, so a leaked table cannot be replayed."""

    token_hash: str = Field(primary_key=True, max_length=64)
    staff_id: int = Field(foreign_key="staffuser.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = _created()
    expires_at: datetime = _ts(index=True)


class MessageTerm(SQLModel, table=True):
    """Full-text index of the conversation log: one row per distinct search token of a message
    (jieba words for Chinese, stems for English). Portable across SQLite and PostgreSQL, unlike FTS."""

    __table_args__ = (Index("ix_messageterm_term_message", "term", "message_id"),)
    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", index=True)
    term: str = Field(max_length=64)


# --- Lifecycle (issue 6): stay preparation, imported history, segments, loyalty points -------------------


class StayPreparation(SQLModel, table=True):
    """Pre-arrival: the remembered preferences offered for one booking and the guest's yes/no, so that the
    answer reaches the stay (housekeeping) instead of staying in a chat log."""

    id: int | None = Field(default=None, primary_key=True)
    booking_id: int = Field(foreign_key="booking.id", unique=True)
    guest_id: int = Field(foreign_key="guest.id", index=True)
    preferences: list[dict[str, str]] = _json(list)
    answer: str | None = Field(default=None, max_length=3)  # yes | no
    answered_at: datetime | None = _ts(nullable=True)
    created_at: datetime = _created()


class GuestHistory(SQLModel, table=True):
    """Stays a guest made before the bot knew them (PMS import); RFM and re-engagement add bookings to it."""

    guest_id: int = Field(primary_key=True, foreign_key="guest.id")
    stays: int = 0
    nights: int = 0
    revenue: int = 0
    last_stay: date | None = None
    source: str = Field(default="import", max_length=40)
    updated_at: datetime = _created()


class GuestSegment(SQLModel, table=True):
    """Nightly RFM scores (1–5 each) and the customer-pyramid class (A top 1 %, B next 4 %, C next 15 %, D)."""

    guest_id: int = Field(primary_key=True, foreign_key="guest.id")
    recency_days: int | None = None
    frequency: int = 0
    monetary: int = 0
    r: int = 1
    f: int = 1
    m: int = 1
    rfm: str = Field(default="111", max_length=3)
    pyramid: str = Field(default="D", max_length=1, index=True)
    computed_at: datetime = _created()


class PointsEntry(SQLModel, table=True):
    """Loyalty points ledger; the unique reason (``stay:<booking>``) makes the nightly award idempotent."""

    __table_args__ = (UniqueConstraint("guest_id", "reason", name="uq_points_guest_reason"),)
    id: int | None = Field(default=None, primary_key=True)
    guest_id: int = Field(foreign_key="guest.id", index=True)
    points: int
    reason: str = Field(max_length=60)
    created_at: datetime = _created()
