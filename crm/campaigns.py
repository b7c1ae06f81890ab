"""Store side of campaigns: who can be reached, what was already queued, and bulk writes to the outbox.

A 100 000-guest holiday greeting has to be planned in seconds, so the reads here are single set-based
queries (no per-guest round trips) and the outbox write is one multi-row ``INSERT … ON CONFLICT DO
NOTHING`` per batch: the unique dedupe key, not the planner's memory, is what prevents a second greeting.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, func, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import select

from crm.models import Booking, ChannelIdentity, Guest, GuestHistory, Outbox, Preference

CHUNK = 500  # bound parameters per IN (...) query: well below SQLite's limit


@dataclass(frozen=True)
class Contact:
    """A guest as campaigns see them: enough to decide, word and address one message."""

    guest_id: int
    name: str
    language: str
    timezone: str | None
    birthday: date | None
    birthday_lunar: bool
    consent: bool
    channel: str | None
    chat_id: str | None


async def contacts(
    session: AsyncSession,
    channels: Sequence[str],
    *,
    consenting_only: bool = False,
    with_birthday: bool = False,
    guest_ids: Iterable[int] | None = None,
) -> dict[int, Contact]:
    """Guests with their newest push-channel identity (None when they can only be reached by web chat)."""
    query = select(
        Guest.id, Guest.name, Guest.language, Guest.timezone, Guest.birthday, Guest.birthday_lunar,
        Guest.marketing_consent,
    )
    if consenting_only:
        query = query.where(Guest.marketing_consent == True)  # noqa: E712
    if with_birthday:
        query = query.where(Guest.birthday.is_not(None))  # type: ignore[union-attr]
    ids = list(guest_ids) if guest_ids is not None else None
    rows: list[Any] = []
    if ids is None:
        rows = list((await session.execute(query)).all())
    else:
        for start in range(0, len(ids), CHUNK):
            part = ids[start:start + CHUNK]
            rows.extend((await session.execute(query.where(Guest.id.in_(part)))).all())  # type: ignore[union-attr]
    reach: dict[int, tuple[str, str]] = {}
    if rows and channels:
        identities = select(ChannelIdentity.guest_id, ChannelIdentity.channel, ChannelIdentity.chat_id).where(
            ChannelIdentity.channel.in_(tuple(channels)), ChannelIdentity.chat_id.is_not(None)  # type: ignore[attr-defined,union-attr]
        ).order_by(ChannelIdentity.id)  # type: ignore[arg-type]
        for guest_id, channel, chat_id in (await session.execute(identities)).all():
            reach[guest_id] = (channel, chat_id)  # ordered by id: the newest identity wins
    none: tuple[None, None] = (None, None)
    return {
        row[0]: Contact(row[0], row[1] or "", row[2], row[3], row[4], bool(row[5]), bool(row[6]), *reach.get(row[0], none))
        for row in rows
    }


async def existing_keys(session: AsyncSession, keys: Sequence[str]) -> set[str]:
    present: set[str] = set()
    for start in range(0, len(keys), CHUNK):
        part = list(keys[start:start + CHUNK])
        result = await session.execute(select(Outbox.dedupe_key).where(Outbox.dedupe_key.in_(part)))  # type: ignore[union-attr]
        present.update(key for key in result.scalars() if key)
    return present


async def keys_with_prefix(session: AsyncSession, prefix: str) -> set[str]:
    """Dedupe keys already in the outbox that start with ``prefix`` (one holiday of one year, say)."""
    pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    result = await session.execute(select(Outbox.dedupe_key).where(Outbox.dedupe_key.like(pattern, escape="\\")))  # type: ignore[union-attr]
    return {key for key in result.scalars() if key}


async def insert_outbox_rows(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Many outbox rows in one statement; a row whose dedupe key exists is skipped by the database."""
    if not rows:
        return
    connection = await session.connection()
    table = Outbox.__table__  # type: ignore[attr-defined]
    if connection.dialect.name == "sqlite":
        await _insert_sqlite(connection, table, rows)
        return
    statement: Any
    if connection.dialect.name == "postgresql":
        statement = postgresql.insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"])
    else:
        statement = sqlite.insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"])
    await session.execute(statement, rows)


async def _insert_sqlite(connection: AsyncConnection, table: Table, rows: list[dict[str, Any]]) -> None:
    """The same insert as one DB-API executemany: SQLAlchemy's per-row statement compilation costs more
    than SQLite's work at 100 000 rows. Values still go through each column type's own bind processor
    (UTC datetimes, JSON), so what is stored is exactly what the ORM would store."""
    columns = list(rows[0])
    processors = [table.c[name].type.bind_processor(connection.dialect) for name in columns]
    params = [
        tuple(process(row[name]) if process else row[name] for name, process in zip(columns, processors, strict=True))
        for row in rows
    ]
    placeholders = ", ".join("?" for _ in columns)
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({placeholders}) ON CONFLICT (dedupe_key) DO NOTHING"
    await connection.exec_driver_sql(sql, params)  # type: ignore[arg-type]


async def marketing_counts(session: AsyncSession, since: datetime, prefixes: Sequence[str]) -> dict[int, int]:
    """Marketing messages per guest queued since ``since`` (for the weekly cap), recognised by key prefix."""
    if not prefixes:
        return {}
    conditions = [Outbox.dedupe_key.like(f"{prefix}%") for prefix in prefixes]  # type: ignore[union-attr]
    query = (
        select(Outbox.guest_id, func.count())
        .where(Outbox.kind == "campaign", Outbox.created_at >= since, Outbox.guest_id.is_not(None), or_(*conditions))  # type: ignore[union-attr,arg-type]
        .group_by(Outbox.guest_id)
    )
    return {int(guest_id): int(count) for guest_id, count in (await session.execute(query)).all()}


async def bookings_between(
    session: AsyncSession, field: str, first: date, last: date, statuses: Sequence[str]
) -> list[Booking]:
    """Bookings whose ``check_in`` or ``check_out`` lies in [first, last], with a guest to talk to."""
    column = Booking.check_in if field == "check_in" else Booking.check_out
    query = (
        select(Booking)
        .where(column >= first, column <= last, Booking.status.in_(tuple(statuses)), Booking.guest_id.is_not(None))  # type: ignore[attr-defined,union-attr,operator]
        .order_by(Booking.id)  # type: ignore[arg-type]
    )
    return list((await session.execute(query)).scalars())


async def preferences_by_guest(session: AsyncSession, guest_ids: Sequence[int]) -> dict[int, list[Preference]]:
    found: dict[int, list[Preference]] = {}
    for start in range(0, len(guest_ids), CHUNK):
        part = list(guest_ids[start:start + CHUNK])
        query = select(Preference).where(Preference.guest_id.in_(part)).order_by(Preference.key)  # type: ignore[attr-defined]
        for preference in (await session.execute(query)).scalars():
            found.setdefault(preference.guest_id, []).append(preference)
    return found


async def last_stays(session: AsyncSession, before: date) -> dict[int, date]:
    """Each guest's most recent check-out before ``before``: bookings and imported PMS history together."""
    stays: dict[int, date] = {}
    query = (
        select(Booking.guest_id, func.max(Booking.check_out))
        .where(Booking.guest_id.is_not(None), Booking.status != "cancelled", Booking.check_out < before)  # type: ignore[union-attr,operator]
        .group_by(Booking.guest_id)
    )
    for guest_id, last in (await session.execute(query)).all():
        stays[int(guest_id)] = last if isinstance(last, date) else date.fromisoformat(str(last))
    history = select(GuestHistory.guest_id, GuestHistory.last_stay).where(GuestHistory.last_stay.is_not(None))  # type: ignore[union-attr]
    for guest_id, last in (await session.execute(history)).all():
        if last < before and (guest_id not in stays or stays[guest_id] < last):
            stays[int(guest_id)] = last
    return stays


async def future_bookers(session: AsyncSession, today: date) -> set[int]:
    """Guests with an upcoming or current stay: nobody re-engages a guest who is about to arrive."""
    query = select(Booking.guest_id).where(
        Booking.guest_id.is_not(None), Booking.status != "cancelled", Booking.check_out >= today  # type: ignore[union-attr,operator]
    )
    return {int(guest_id) for guest_id in (await session.execute(query)).scalars()}
