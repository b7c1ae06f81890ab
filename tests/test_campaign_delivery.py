"""Campaign messages that waited in the outbox: quiet hours and expiry are checked again when they leave.

A 100 000-guest campaign at 25 messages a second takes more than an hour to send, so a message planned for
21:50 may reach the front of the queue in the guest's night, and a pre-arrival note after the guest has
arrived. Planning-time rules alone cannot prevent either.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.app import Concierge
from bot.bench.fake_bot_api import FakeBotApi
from bot.config import QuietHours
from bot.scheduler_setup import quiet_until
from crm.models import Outbox
from crm.types import utcnow
from nlp import Analyzer
from tests.conftest import SettingsFactory
from tests.quiescence import settle

ASLEEP, AWAKE = "Asia/Shanghai", "America/New_York"  # 12–13 hours apart: never both inside a 2-hour window


async def test_a_campaign_row_waits_out_the_guests_night_and_a_stale_one_expires(
    make_settings: SettingsFactory, analyzer: Analyzer, telegram_env: dict[str, str], fake_api: FakeBotApi
) -> None:
    now = utcnow()
    local = now.astimezone(ZoneInfo(ASLEEP))
    quiet = QuietHours(start=(local - timedelta(hours=1)).time().replace(second=0, microsecond=0),
                       end=(local + timedelta(hours=1)).time().replace(second=0, microsecond=0))
    settings = make_settings(**telegram_env)
    settings = settings.model_copy(update={
        "quiet_hours": quiet, "telegram": settings.telegram.model_copy(update={"poll_timeout": 1})})
    app = Concierge(settings, analyzer=analyzer)
    await app.prepare_store()
    async with app.db.write() as session:
        for chat, zone, expires in (("9001", ASLEEP, now + timedelta(days=1)), ("9002", AWAKE, now + timedelta(days=1)),
                                    ("9003", AWAKE, now - timedelta(minutes=1))):
            session.add(Outbox(channel="telegram", chat_id=chat, kind="campaign", text=f"Hello {chat}",
                               zone=zone, expires_at=expires, next_attempt_at=now - timedelta(minutes=5)))
    await app.start()
    try:
        await fake_api.wait_for(lambda: fake_api.to_chat(9002), timeout=15)
        await settle(app, fake=fake_api)  # the other two were claimed in the same batch and put aside
        assert fake_api.to_chat(9001) == [] and fake_api.to_chat(9003) == []
        async with app.db.read() as session:
            rows = {row.chat_id: row for row in (await session.execute(select(Outbox))).scalars()}
    finally:
        await app.stop()
    assert rows["9002"].status == "sent"
    assert rows["9003"].status == "expired"  # a message past its point is not sent late
    night = rows["9001"]
    assert night.status == "pending" and night.attempts == 0  # waiting, and the deferral is not a failed try
    resume = night.next_attempt_at.astimezone(ZoneInfo(ASLEEP))
    assert resume.time() == quiet.end and timedelta(0) < resume - local <= timedelta(hours=1, minutes=1)


def test_quiet_hours_at_send_time_fall_back_to_the_hotels_zone_for_an_unknown_one(make_settings: SettingsFactory) -> None:
    """A row whose zone this machine's tz database lacks (imported from a PMS, or an older tzdata) is judged
    in the hotel's zone; it must not make every delivery round fail."""
    settings = make_settings()
    until = quiet_until(settings)
    start = datetime(2026, 11, 24, tzinfo=ZoneInfo("UTC"))
    hours = [start + timedelta(hours=hour) for hour in range(24)]
    hotel = [until(settings.hotel.zone.key, moment) for moment in hours]
    assert [until("Mars/Olympus_Mons", moment) for moment in hours] == hotel
    assert any(resume > moment for resume, moment in zip(hotel, hours))  # some of those hours are quiet
