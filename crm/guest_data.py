"""Guest data in and out: PMS import, a full export for one guest, and erasure.

Import takes a PMS export (name, phone, email, birthday, language, stays; optionally last_stay, nights,
revenue, lunar_birthday, consent), merges by phone or e-mail, and reports rejected rows by line number
and reason — never echoing phone numbers. Marketing consent is only set when the file records it.

Erasure removes what identifies the guest (names, contacts, birthday, chat identities, free text they
wrote, preferences) and keeps anonymous statistics (stays, revenue, scores, categories, tickets' timing),
so the hotel's numbers stay right after a guest exercises the right to be forgotten.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, select

from crm.db import Database
from crm.models import (
    AuditLog, Booking, ChannelIdentity, ConversationState, Guest, GuestHistory, GuestSegment, InboxUpdate,
    Message, MessageTerm, Outbox, PointsEntry, Preference, StayPreparation, Survey, Ticket, TicketEvent,
)

ERASED = "[erased]"
BATCH = 1000
_PHONE = re.compile(r"^\+?[\d\s\-()]{5,25}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,}$")
_LANGUAGES = {
    "zh": "zh-Hans", "zh-cn": "zh-Hans", "zh-hans": "zh-Hans", "zh-sg": "zh-Hans", "cn": "zh-Hans", "中文": "zh-Hans",
    "zh-tw": "zh-Hant", "zh-hk": "zh-Hant", "zh-mo": "zh-Hant", "zh-hant": "zh-Hant",
    "en": "en", "en-us": "en", "en-gb": "en", "english": "en",
}
_TRUE = {"1", "yes", "y", "true", "是", "同意"}


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)

    @property
    def total(self) -> int:
        return self.created + self.updated + len(self.rejected)


@dataclass(frozen=True)
class GuestRow:
    name: str
    phone: str | None
    email: str | None
    birthday: date | None
    lunar: bool
    language: str
    stays: int
    nights: int
    revenue: int
    last_stay: date | None
    consent: bool


def _date(value: str, column: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d"):
        try:
            parsed = datetime.strptime(value, fmt).date()
        except ValueError:
            continue
        if not date(1900, 1, 1) <= parsed <= date(2100, 1, 1):
            raise ValueError(f"{column} out of range")
        return parsed
    raise ValueError(f"{column} is not a date (use YYYY-MM-DD)")


def _count(value: str, column: str) -> int:
    value = value.strip()
    if not value:
        return 0
    if not (value.isascii() and value.isdigit()) or len(value) > 9:
        raise ValueError(f"{column} is not a whole number")
    return int(value)


def parse_row(raw: dict[str, str]) -> GuestRow:
    """One CSV row, validated; raises ValueError with a reason that contains no personal data."""
    get = lambda key: (raw.get(key) or "").strip()  # noqa: E731
    name = get("name")[:200]
    phone = get("phone") or None
    email = (get("email") or "").lower() or None
    if phone is not None and not _PHONE.match(phone):
        raise ValueError("phone is malformed")
    if email is not None and not _EMAIL.match(email):
        raise ValueError("email is malformed")
    if not name and not phone and not email:
        raise ValueError("no name, phone or email")
    language_raw = get("language").lower().replace("_", "-")
    language = _LANGUAGES.get(language_raw) if language_raw else "zh-Hans"
    if language is None:
        raise ValueError("language is not one of zh-Hans, zh-Hant, en")
    return GuestRow(
        name=name, phone=phone, email=email, birthday=_date(get("birthday"), "birthday"),
        lunar=get("lunar_birthday").lower() in _TRUE, language=language,
        stays=_count(get("stays"), "stays"), nights=_count(get("nights"), "nights"),
        revenue=_count(get("revenue"), "revenue"), last_stay=_date(get("last_stay"), "last_stay"),
        consent=get("consent").lower() in _TRUE,
    )


def read_csv(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows with their line numbers; a UTF-8 BOM (Excel) is accepted."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or "name" not in [f.strip().lower() for f in reader.fieldnames]:
            raise ValueError(f"{path.name}: the first line must name the columns (name, phone, email, birthday, language, stays)")
        for row in reader:
            yield reader.line_num, {str(k).strip().lower(): (v or "") for k, v in row.items() if k is not None}


async def import_guests(
    db: Database, path: Path, *, now: datetime, progress: Callable[[int], None] | None = None
) -> ImportReport:
    report = ImportReport()
    async with db.read() as session:
        by_phone: dict[str, int] = {}
        by_email: dict[str, int] = {}
        for guest_id, phone, email in (await session.execute(select(Guest.id, Guest.phone, Guest.email))).all():
            if phone:
                by_phone[phone] = guest_id
            if email:
                by_email[email] = guest_id
    batch: list[tuple[int, GuestRow]] = []
    for line, raw in read_csv(path):
        try:
            batch.append((line, parse_row(raw)))
        except ValueError as exc:
            report.rejected.append((line, str(exc)))
        if len(batch) >= BATCH:
            await _write(db, batch, by_phone, by_email, report, now, path.name)
            batch = []
            if progress:
                progress(report.total)
    await _write(db, batch, by_phone, by_email, report, now, path.name)
    if progress:
        progress(report.total)
    return report


async def _write(
    db: Database, batch: list[tuple[int, GuestRow]], by_phone: dict[str, int], by_email: dict[str, int],
    report: ImportReport, now: datetime, source: str,
) -> None:
    if not batch:
        return
    async with db.write() as session:
        for _line, row in batch:
            existing_id = (by_phone.get(row.phone) if row.phone else None) or (by_email.get(row.email) if row.email else None)
            guest = await session.get(Guest, existing_id) if existing_id else None
            if guest is None:
                guest = Guest(name=row.name, language=row.language, created_at=now)
                session.add(guest)
                report.created += 1
            else:
                report.updated += 1
            guest.name = row.name or guest.name
            guest.phone = row.phone or guest.phone
            guest.email = row.email or guest.email
            guest.birthday = row.birthday or guest.birthday
            guest.birthday_lunar = row.lunar if row.birthday else guest.birthday_lunar
            guest.language = row.language
            if row.consent and not guest.marketing_consent:
                guest.marketing_consent, guest.consent_at, guest.consent_source = True, now, f"import:{source}"[:100]
            await session.flush()
            assert guest.id is not None
            if row.phone:
                by_phone[row.phone] = guest.id
            if row.email:
                by_email[row.email] = guest.id
            if row.stays or row.last_stay or row.revenue:
                history = await session.get(GuestHistory, guest.id) or GuestHistory(guest_id=guest.id)
                history.stays, history.nights, history.revenue = row.stays, max(row.nights, row.stays), row.revenue
                history.last_stay, history.source, history.updated_at = row.last_stay, f"import:{source}"[:40], now
                session.add(history)


def _plain(row: SQLModel) -> dict[str, Any]:
    data = row.model_dump()
    return {key: (value.isoformat() if isinstance(value, date | datetime) else value) for key, value in data.items()}


async def export_guest(session: AsyncSession, guest_id: int) -> dict[str, Any] | None:
    """Everything we hold about one guest, as JSON-ready data."""
    guest = await session.get(Guest, guest_id)
    if guest is None:
        return None

    async def rows(model: Any, column: Any) -> list[dict[str, Any]]:
        result = await session.execute(select(model).where(column == guest_id))
        return [_plain(row) for row in result.scalars()]

    tickets = await rows(Ticket, Ticket.guest_id)
    ticket_ids = [ticket["id"] for ticket in tickets]
    events = (await session.execute(select(TicketEvent).where(TicketEvent.ticket_id.in_(ticket_ids)))).scalars() if ticket_ids else []  # type: ignore[attr-defined]
    single = [await session.get(model, guest_id) for model in (GuestHistory, GuestSegment, ConversationState)]
    return {
        "guest": _plain(guest),
        "identities": await rows(ChannelIdentity, ChannelIdentity.guest_id),
        "preferences": await rows(Preference, Preference.guest_id),
        "bookings": await rows(Booking, Booking.guest_id),
        "stay_preparations": await rows(StayPreparation, StayPreparation.guest_id),
        "tickets": tickets,
        "ticket_events": [_plain(event) for event in events],
        "messages": await rows(Message, Message.guest_id),
        "surveys": await rows(Survey, Survey.guest_id),
        "outbox": await rows(Outbox, Outbox.guest_id),
        "points": await rows(PointsEntry, PointsEntry.guest_id),
        "history": _plain(single[0]) if single[0] else None,
        "segment": _plain(single[1]) if single[1] else None,
        "conversation": _plain(single[2]) if single[2] else None,
    }


async def erase_guest(session: AsyncSession, guest_id: int, *, actor: str, now: datetime) -> bool:
    """Remove personal data, keep anonymous statistics; returns False when there is no such guest."""
    guest = await session.get(Guest, guest_id)
    if guest is None:
        return False
    guest.name = guest.surname = ""
    guest.phone = guest.email = guest.birthday = guest.timezone = guest.room_number = None  # type: ignore[assignment]
    guest.marketing_consent, guest.consent_at, guest.consent_source = False, now, "erased"
    message_ids = select(Message.id).where(Message.guest_id == guest_id)
    inbox_ids = select(Message.inbox_id).where(Message.guest_id == guest_id, Message.inbox_id.is_not(None))  # type: ignore[union-attr]
    ticket_ids = select(Ticket.id).where(Ticket.guest_id == guest_id)
    await session.execute(delete(MessageTerm).where(MessageTerm.message_id.in_(message_ids)))  # type: ignore[attr-defined]
    await session.execute(update(InboxUpdate).where(InboxUpdate.id.in_(inbox_ids)).values(payload={}, chat_key=""))  # type: ignore[union-attr]
    await session.execute(update(Message).where(Message.guest_id == guest_id).values(text=ERASED, analysis={}))  # type: ignore[arg-type]
    await session.execute(update(Ticket).where(Ticket.guest_id == guest_id).values(summary=ERASED, room_number=None))  # type: ignore[arg-type]
    await session.execute(update(TicketEvent).where(TicketEvent.ticket_id.in_(ticket_ids)).values(note=""))  # type: ignore[attr-defined]
    await session.execute(update(Survey).where(Survey.guest_id == guest_id).values(comment=None))  # type: ignore[arg-type]
    await session.execute(update(Booking).where(Booking.guest_id == guest_id).values(surname="", booker_name="", phone=None))  # type: ignore[arg-type]
    await session.execute(update(StayPreparation).where(StayPreparation.guest_id == guest_id).values(preferences=[]))  # type: ignore[arg-type]
    await session.execute(
        update(Outbox).where(Outbox.guest_id == guest_id, Outbox.status.in_(("pending", "held")))  # type: ignore[arg-type,attr-defined]
        .values(status="cancelled", last_error="guest erased")
    )
    await session.execute(update(Outbox).where(Outbox.guest_id == guest_id).values(text=ERASED, buttons=[], chat_id=None, zone=None))  # type: ignore[arg-type]
    # Staff alerts and cards quote the guest's words: they belong to the guest's tickets.
    await session.execute(update(Outbox).where(Outbox.ticket_id.in_(ticket_ids)).values(text=ERASED, buttons=[]))  # type: ignore[union-attr]
    await session.execute(update(Ticket).where(Ticket.guest_id == guest_id).values(root_cause=""))  # type: ignore[arg-type]
    for model in (ChannelIdentity, Preference, ConversationState):
        await session.execute(delete(model).where(model.guest_id == guest_id))  # type: ignore[attr-defined]
    session.add(AuditLog(actor=actor[:60], action="guest.erased", target=f"guest:{guest_id}", created_at=now))
    return True
