"""RFM scores and the customer pyramid, recomputed nightly from bookings plus imported PMS history.

RFM: recency (days since the last stay), frequency (stays), monetary (revenue), each scored 1–5 by
quintile among guests who have stayed; a guest who never stayed scores 111. The pyramid ranks guests by
revenue: A the top 1 %, B the next 4 %, C the next 15 %, D the rest (and everyone with no revenue).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, func, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from crm.models import Booking, Guest, GuestHistory, GuestSegment

PYRAMID = (("A", 0.01), ("B", 0.05), ("C", 0.20))  # cumulative shares; the rest are D


@dataclass(frozen=True)
class Totals:
    last_stay: date | None
    stays: int
    nights: int
    revenue: int


async def guest_totals(session: AsyncSession, today: date) -> dict[int, Totals]:
    """Per guest: last stay, stays, nights and revenue (completed stays and imported history)."""
    totals: dict[int, Totals] = {}
    query = (
        select(
            Booking.guest_id,
            func.max(Booking.check_out),
            func.count(),
            func.sum(Booking.total_price),
        )
        .where(Booking.guest_id.is_not(None), Booking.status != "cancelled", Booking.check_out <= today)  # type: ignore[union-attr,operator]
        .group_by(Booking.guest_id)
    )
    for guest_id, last, stays, revenue in (await session.execute(query)).all():
        last_day = last if isinstance(last, date) else date.fromisoformat(str(last))
        totals[int(guest_id)] = Totals(last_day, int(stays), 0, int(revenue or 0))
    nights_query = select(Booking.guest_id, Booking.check_in, Booking.check_out, Booking.rooms).where(
        Booking.guest_id.is_not(None), Booking.status != "cancelled", Booking.check_out <= today  # type: ignore[union-attr,operator]
    )
    nights: dict[int, int] = {}
    for guest_id, check_in, check_out, rooms in (await session.execute(nights_query)).all():
        nights[int(guest_id)] = nights.get(int(guest_id), 0) + (check_out - check_in).days * max(1, rooms or 1)
    for guest_id, count in nights.items():
        base = totals[guest_id]
        totals[guest_id] = Totals(base.last_stay, base.stays, count, base.revenue)
    for history in (await session.execute(select(GuestHistory))).scalars():
        base = totals.get(history.guest_id, Totals(None, 0, 0, 0))
        last = max((d for d in (base.last_stay, history.last_stay) if d is not None), default=None)
        totals[history.guest_id] = Totals(
            last, base.stays + history.stays, base.nights + history.nights, base.revenue + history.revenue
        )
    return totals


def quintile_scores(values: Sequence[float], *, higher_is_better: bool = True) -> list[int]:
    """1–5 by rank (worst first); equal values share one score so equal guests are treated equally."""
    n = len(values)
    if n == 0:
        return []
    order = sorted(range(n), key=lambda i: values[i], reverse=not higher_is_better)
    scores = [0] * n
    previous: float | None = None
    previous_score = 1
    for rank, index in enumerate(order):  # worst first
        value = values[index]
        score = previous_score if value == previous else 1 + (rank * 5) // n
        scores[index] = score
        previous, previous_score = value, score
    return scores


def pyramid_classes(revenues: dict[int, int]) -> dict[int, str]:
    ranked = sorted((guest for guest, revenue in revenues.items() if revenue > 0), key=lambda g: -revenues[g])
    total = len(revenues)
    classes = {guest: "D" for guest in revenues}
    start = 0
    for label, share in PYRAMID:
        end = max(start, round(total * share))
        if share * total >= 0.5 and end == start:
            end = start + 1
        for guest in ranked[start:end]:
            classes[guest] = label
        start = max(start, end)
    return classes


async def recompute(session: AsyncSession, today: date, now: datetime) -> dict[str, int]:
    """Replace every guest's segment row; returns the pyramid's class sizes."""
    guest_ids = [int(g) for g in (await session.execute(select(Guest.id))).scalars()]
    totals = await guest_totals(session, today)
    stayed = [g for g in guest_ids if g in totals and totals[g].stays > 0]
    recency = [float((today - totals[g].last_stay).days) if totals[g].last_stay else 1e9 for g in stayed]
    r = dict(zip(stayed, quintile_scores(recency, higher_is_better=False), strict=True))
    f = dict(zip(stayed, quintile_scores([float(totals[g].stays) for g in stayed]), strict=True))
    m = dict(zip(stayed, quintile_scores([float(totals[g].revenue) for g in stayed]), strict=True))
    classes = pyramid_classes({g: (totals[g].revenue if g in totals else 0) for g in guest_ids})
    rows = []
    for guest in guest_ids:
        t = totals.get(guest)
        scores = (r.get(guest, 1), f.get(guest, 1), m.get(guest, 1))
        rows.append({
            "guest_id": guest,
            "recency_days": (today - t.last_stay).days if t and t.last_stay else None,
            "frequency": t.stays if t else 0,
            "monetary": t.revenue if t else 0,
            "r": scores[0], "f": scores[1], "m": scores[2],
            "rfm": "".join(str(s) for s in scores),
            "pyramid": classes[guest],
            "computed_at": now,
        })
    await session.execute(delete(GuestSegment))
    for start in range(0, len(rows), 5000):
        await session.execute(insert(GuestSegment), rows[start:start + 5000])
    sizes = {label: 0 for label in "ABCD"}
    for label in classes.values():
        sizes[label] += 1
    return sizes
