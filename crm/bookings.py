"""Room inventory, bookings, quotes and the cancellation policy arithmetic.

Overbooking must be impossible even when two guests confirm the last room at once. Availability is
checked and the booking written in one ``db.write()`` transaction: on SQLite that is ``BEGIN IMMEDIATE``
(writers queue up), on PostgreSQL the room type row is locked ``FOR UPDATE`` first.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from crm.models import AttachFailure, Booking, RoomType
from crm.types import utcnow

REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: guests read these aloud
REFERENCE_LENGTH = 8
ACTIVE = ("confirmed", "checked_in")


class SoldOut(Exception):
    """Not enough rooms of that type for every night asked."""


@dataclass(frozen=True)
class Quote:
    room_type: str
    check_in: date
    check_out: date
    rooms: int
    guests: int
    nightly_rate: int
    available: int

    @property
    def nights(self) -> int:
        return (self.check_out - self.check_in).days

    @property
    def total(self) -> int:
        return self.nightly_rate * self.nights * self.rooms


@dataclass(frozen=True)
class CancellationTerms:
    free_until: datetime  # UTC
    penalty: int
    refund: int

    @property
    def free(self) -> bool:
        return self.penalty == 0


def new_reference() -> str:
    """Random, with at least one digit and one letter: an all-letter reference reads as a word (the analyser
    does not take "QWERTYUP" for a booking reference) and an all-digit one as a phone or room number."""
    while True:
        reference = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))
        if any(ch.isdigit() for ch in reference) and any(ch.isalpha() for ch in reference):
            return reference


async def rooms_taken(
    session: AsyncSession, room_type: str, check_in: date, check_out: date, *, exclude_id: int | None = None
) -> int:
    """The most rooms of this type booked on any single night of [check_in, check_out)."""
    query = select(Booking.check_in, Booking.check_out, Booking.rooms).where(
        Booking.room_type == room_type,
        Booking.status.in_(ACTIVE),  # type: ignore[attr-defined]
        Booking.check_in < check_out,  # type: ignore[operator]
        Booking.check_out > check_in,  # type: ignore[operator]
    )
    if exclude_id is not None:
        query = query.where(Booking.id != exclude_id)
    rows = (await session.execute(query)).all()
    peak = 0
    night = check_in
    while night < check_out:
        peak = max(peak, sum(rooms for start, end, rooms in rows if start <= night < end))
        night += timedelta(days=1)
    return peak


async def quote(
    session: AsyncSession,
    room_type: str,
    check_in: date,
    check_out: date,
    *,
    rooms: int = 1,
    guests: int = 1,
    exclude_id: int | None = None,
    lock: bool = False,
) -> Quote:
    query = select(RoomType).where(RoomType.code == room_type)
    if lock:
        query = query.with_for_update()
    kind = (await session.execute(query)).scalar_one_or_none()
    if kind is None:
        raise KeyError(room_type)
    taken = await rooms_taken(session, room_type, check_in, check_out, exclude_id=exclude_id)
    return Quote(room_type, check_in, check_out, rooms, guests, kind.rate, max(0, kind.inventory - taken))


async def book(
    session: AsyncSession,
    *,
    guest_id: int | None,
    room_type: str,
    check_in: date,
    check_out: date,
    rooms: int,
    guests: int,
    surname: str = "",
    booker_name: str = "",
    phone: str | None = None,
    source: str = "bot",
) -> Booking:
    """Check and write in the caller's write transaction; raises SoldOut rather than overbook."""
    offer = await quote(session, room_type, check_in, check_out, rooms=rooms, guests=guests, lock=True)
    if offer.available < rooms:
        raise SoldOut(room_type)
    booking = Booking(
        reference=await _unused_reference(session),
        guest_id=guest_id,
        room_type=room_type,
        check_in=check_in,
        check_out=check_out,
        guests=guests,
        rooms=rooms,
        nightly_rate=offer.nightly_rate,
        total_price=offer.total,
        surname=surname,
        booker_name=booker_name,
        phone=phone,
        source=source,
    )
    session.add(booking)
    await session.flush()
    return booking


async def change(
    session: AsyncSession, booking: Booking, *, room_type: str, check_in: date, check_out: date, rooms: int, guests: int
) -> Booking:
    """Move a booking to new dates/room/guests, re-checked against inventory without counting itself."""
    offer = await quote(
        session, room_type, check_in, check_out, rooms=rooms, guests=guests, exclude_id=booking.id, lock=True
    )
    if offer.available < rooms:
        raise SoldOut(room_type)
    booking.room_type, booking.check_in, booking.check_out = room_type, check_in, check_out
    booking.rooms, booking.guests = rooms, guests
    booking.nightly_rate, booking.total_price = offer.nightly_rate, offer.total
    await session.flush()
    return booking


async def _unused_reference(session: AsyncSession) -> str:
    while True:
        reference = new_reference()
        exists = await session.execute(select(Booking.id).where(Booking.reference == reference))
        if exists.scalar_one_or_none() is None:
            return reference


def cancellation_terms(
    booking: Booking,
    now: datetime,
    *,
    zone: ZoneInfo,
    check_in_time: time,
    free_hours: int,
    penalty_nights: int,
) -> CancellationTerms:
    """Free until ``free_hours`` before check-in day at check-in time (hotel time); then nights charged.
    Only money the hotel received can be refunded: an unpaid booking cancels at no cost or owes the penalty."""
    check_in_local = datetime.combine(booking.check_in, check_in_time, tzinfo=zone)
    free_until = check_in_local - timedelta(hours=free_hours)
    paid = min(booking.paid_amount or 0, booking.total_price)
    if now < free_until:
        return CancellationTerms(free_until, 0, paid)
    nights = (booking.check_out - booking.check_in).days
    penalty = min(booking.total_price, booking.nightly_rate * booking.rooms * min(penalty_nights, nights))
    return CancellationTerms(free_until, penalty, max(0, paid - penalty))


def cancel(booking: Booking, terms: CancellationTerms, now: datetime | None = None) -> None:
    booking.status = "cancelled"
    booking.cancelled_at = now or utcnow()
    booking.penalty_amount, booking.refund_amount = terms.penalty, terms.refund


async def upcoming_bookings(session: AsyncSession, guest_id: int, today: date) -> list[Booking]:
    result = await session.execute(
        select(Booking)
        .where(Booking.guest_id == guest_id, Booking.status.in_(ACTIVE), Booking.check_out >= today)  # type: ignore[attr-defined,operator]
        .order_by(Booking.check_in)  # type: ignore[arg-type]
    )
    return list(result.scalars())


async def by_reference(session: AsyncSession, reference: str, *, lock: bool = False) -> Booking | None:
    """``lock``: hold the row until commit, so proofs of ownership for one booking are checked one at a time
    (each then sees the failures counted before it; SQLite's single writer does the same already)."""
    query = select(Booking).where(func.upper(Booking.reference) == reference.upper())
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


ATTACH_WINDOW = timedelta(days=1)


async def record_attach_failure(session: AsyncSession, reference: str, guest_id: int, now: datetime) -> None:
    session.add(AttachFailure(reference=reference.upper()[:40], guest_id=guest_id, failed_at=now))
    await session.flush()


async def attach_failures(session: AsyncSession, *, reference: str, guest_id: int, now: datetime) -> tuple[int, int]:
    """Failed ownership proofs in the last day: (for this reference by anyone, by this guest for any)."""
    since = now - ATTACH_WINDOW
    by_reference = await session.execute(
        select(func.count()).select_from(AttachFailure)
        .where(AttachFailure.reference == reference.upper()[:40], AttachFailure.failed_at >= since)  # type: ignore[arg-type,operator]
    )
    by_guest = await session.execute(
        select(func.count()).select_from(AttachFailure)
        .where(AttachFailure.guest_id == guest_id, AttachFailure.failed_at >= since)  # type: ignore[arg-type,operator]
    )
    return int(by_reference.scalar_one()), int(by_guest.scalar_one())
