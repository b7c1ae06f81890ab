"""Loyalty: points earned per night, tiers by nights stayed, and the perks each tier brings.

Points are a ledger (``PointsEntry``) with a unique reason per stay, so the nightly award can run any
number of times; ``Guest.points`` is the ledger's running total for quick display. Perks are data here
and read by the flows (e.g. the check-out time a guest may ask for).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from crm.models import Booking, Guest, PointsEntry
from crm.segments import guest_totals

# Minimum nights (all time, bookings plus imported history) for each tier, best first.
TIERS: tuple[tuple[str, int], ...] = (("platinum", 50), ("gold", 25), ("silver", 10), ("member", 0))


@dataclass(frozen=True)
class Perks:
    late_checkout: time | None  # the latest check-out granted on request, None = the hotel's standard
    room_upgrade: bool = False  # subject to availability
    breakfast: bool = False
    points_multiplier: float = 1.0


PERKS: dict[str, Perks] = {
    "member": Perks(None),
    "silver": Perks(time(13, 0), points_multiplier=1.1),
    "gold": Perks(time(14, 0), room_upgrade=True, points_multiplier=1.25),
    "platinum": Perks(time(16, 0), room_upgrade=True, breakfast=True, points_multiplier=1.5),
}


def tier_for(nights: int) -> str:
    return next(name for name, minimum in TIERS if nights >= minimum)


def perks_of(tier: str) -> Perks:
    return PERKS.get(tier, PERKS["member"])


def late_checkout(tier: str, standard: time) -> time:
    """The check-out time this guest may have: the tier's perk when it is later than the standard."""
    perk = perks_of(tier).late_checkout
    return perk if perk is not None and perk > standard else standard


async def award_points(session: AsyncSession, today: date, points_per_night: int, now: datetime) -> int:
    """Credit every completed stay once; returns the points credited in this run."""
    query = select(Booking.id, Booking.guest_id, Booking.check_in, Booking.check_out, Booking.rooms).where(
        Booking.guest_id.is_not(None), Booking.status != "cancelled", Booking.check_out <= today  # type: ignore[union-attr,operator]
    )
    stays = (await session.execute(query)).all()
    if not stays:
        return 0
    done = set((await session.execute(select(PointsEntry.guest_id, PointsEntry.reason))).all())
    tiers = dict((await session.execute(select(Guest.id, Guest.tier))).all())
    credited = 0
    for booking_id, guest_id, check_in, check_out, rooms in stays:
        reason = f"stay:{booking_id}"
        if (guest_id, reason) in done:
            continue
        nights = (check_out - check_in).days * max(1, rooms or 1)
        points = int(nights * points_per_night * perks_of(tiers.get(guest_id, "member")).points_multiplier)
        session.add(PointsEntry(guest_id=guest_id, points=points, reason=reason, created_at=now))
        await session.execute(update(Guest).where(Guest.id == guest_id).values(points=Guest.points + points))  # type: ignore[arg-type]
        credited += points
    await session.flush()
    return credited


async def update_tiers(session: AsyncSession, today: date) -> int:
    """Set each guest's tier from nights stayed; returns how many guests changed tier."""
    totals = await guest_totals(session, today)
    changed = 0
    for guest_id, tier in (await session.execute(select(Guest.id, Guest.tier))).all():
        nights = totals[guest_id].nights if guest_id in totals else 0
        new = tier_for(nights)
        if new != tier and tier in PERKS:  # a tier set by hand outside the ladder is kept
            await session.execute(update(Guest).where(Guest.id == guest_id).values(tier=new))  # type: ignore[arg-type]
            changed += 1
    return changed
