"""Shared helpers for the lifecycle tests: a migrated store, guests with a Telegram chat, bookings."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.scheduler_setup import build_context
from crm.models import Booking, ChannelIdentity, Guest, RoomType
from handlers.i18n import Catalog
from scheduler.config import CampaignSettings
from scheduler.context import CampaignContext

SHANGHAI = ZoneInfo("Asia/Shanghai")
_refs = itertools.count(1)
_catalog: Catalog | None = None


def catalog() -> Catalog:
    global _catalog
    if _catalog is None:
        _catalog = Catalog()
    return _catalog


def context(settings: Settings, **campaigns: object) -> CampaignContext:
    merged = CampaignSettings(**{**settings.campaigns.model_dump(), **campaigns})
    return build_context(settings.model_copy(update={"campaigns": merged}), catalog())


def hotel_time(day: date, hh: int, mm: int = 0, zone: ZoneInfo = SHANGHAI) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=zone).astimezone(UTC)


async def add_guest(
    session: AsyncSession,
    *,
    chat: int | None = None,
    name: str = "Guest",
    language: str = "zh-Hans",
    consent: bool = True,
    birthday: date | None = None,
    lunar: bool = False,
    timezone: str | None = None,
) -> Guest:
    guest = Guest(name=name, language=language, marketing_consent=consent, birthday=birthday,
                  birthday_lunar=lunar, timezone=timezone)
    session.add(guest)
    await session.flush()
    assert guest.id is not None
    if chat is not None:
        session.add(ChannelIdentity(channel="telegram", external_id=str(chat), chat_id=str(chat), guest_id=guest.id))
    await session.flush()
    return guest


async def ensure_room(session: AsyncSession) -> None:
    if await session.get(RoomType, "king") is None:
        session.add(RoomType(code="king", name_zh="大床房", name_en="King", capacity=2, rate=600, inventory=10))
        await session.flush()


async def add_booking(
    session: AsyncSession, guest: Guest, check_in: date, check_out: date, *, status: str = "confirmed", price: int = 1200
) -> Booking:
    await ensure_room(session)
    booking = Booking(reference=f"T{next(_refs):07d}", guest_id=guest.id, room_type="king", check_in=check_in,
                      check_out=check_out, status=status, nightly_rate=600, total_price=price)
    session.add(booking)
    await session.flush()
    return booking
