"""Time-travel tests for every campaign: nothing before it is due, exactly one row when due, never twice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.config import Settings
from crm.db import Database
from crm.guests import remember_preference
from crm.migrate import upgrade
from crm.models import GuestHistory, Outbox, StayPreparation, Survey
from scheduler.runner import CampaignRunner
from tests.conftest import SettingsFactory
from tests.lifecycle_helpers import add_booking, add_guest, context, hotel_time


@pytest.fixture
async def db(make_settings: SettingsFactory) -> AsyncIterator[Database]:
    database = Database(make_settings().database_url)
    await upgrade(database)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def settings(make_settings: SettingsFactory) -> Settings:
    return make_settings()


async def _rows(db: Database) -> list[Outbox]:
    async with db.read() as session:
        return list((await session.execute(select(Outbox).order_by(Outbox.id))).scalars())


async def test_pre_arrival_day_before_at_ten_with_remembered_preferences(db: Database, settings: Settings) -> None:
    async with db.write() as session:
        guest = await add_guest(session, chat=101, name="张三", consent=False)  # transactional: no consent needed
        plain = await add_guest(session, chat=102, name="Ann", language="en")
        await remember_preference(session, guest.id or 0, "pillow", "low", source="learned", message_id=None)
        await remember_preference(session, guest.id or 0, "language", "zh-Hans", source="stated", message_id=None)
        booking = await add_booking(session, guest, date(2026, 5, 10), date(2026, 5, 12))
        await add_booking(session, plain, date(2026, 5, 10), date(2026, 5, 11))
        await add_booking(session, plain, date(2026, 5, 20), date(2026, 5, 21), status="cancelled")
    runner = CampaignRunner(db, context(settings))
    early = await runner.run("pre_arrival", hotel_time(date(2026, 5, 9), 9, 59))
    assert early.queued == 0 and await _rows(db) == []
    report = await runner.run("pre_arrival", hotel_time(date(2026, 5, 9), 10, 0))
    assert report.queued == 2
    again = await runner.run("pre_arrival", hotel_time(date(2026, 5, 9), 18, 0))
    assert again.queued == 0 and again.already == 2
    rows = await _rows(db)
    zh = next(row for row in rows if row.chat_id == "101")
    assert zh.dedupe_key == f"prearrival:{booking.id}" and zh.kind == "campaign"
    assert "低枕头" in zh.text and "14:00" in zh.text and "南京西路" in zh.text and booking.reference in zh.text
    assert "zh-Hans" not in zh.text  # the chosen language is not a stay preference
    async with db.read() as session:
        prep = (await session.execute(select(StayPreparation))).scalar_one()
    assert [b["value"] for b in zh.buttons] == [f"prearrival:yes:{prep.id}", f"prearrival:no:{prep.id}"]
    en = next(row for row in rows if row.chat_id == "102")
    assert "tomorrow" in en.text and en.buttons == []
    late = await runner.run("pre_arrival", hotel_time(date(2026, 5, 10), 15, 0))  # the guest has arrived
    assert late.due == 0


async def test_post_stay_survey_three_hours_after_check_out(db: Database, settings: Settings) -> None:
    async with db.write() as session:
        guest = await add_guest(session, chat=201, consent=False)
        booking = await add_booking(session, guest, date(2026, 5, 10), date(2026, 5, 12), status="checked_out")
    runner = CampaignRunner(db, context(settings))
    assert (await runner.run("post_stay", hotel_time(date(2026, 5, 12), 14, 59))).queued == 0
    assert (await runner.run("post_stay", hotel_time(date(2026, 5, 12), 15, 0))).queued == 1
    assert (await runner.run("post_stay", hotel_time(date(2026, 5, 12), 15, 10))).queued == 0
    rows = await _rows(db)
    async with db.read() as session:
        survey = (await session.execute(select(Survey))).scalar_one()
    assert survey.booking_id == booking.id and survey.csat is None
    assert [b["value"] for b in rows[0].buttons] == [f"survey:csat:{survey.id}:{n}" for n in range(1, 6)]
    assert all(len(b["value"].encode()) <= 64 for b in rows[0].buttons)
    assert rows[0].dedupe_key == f"survey:{booking.id}"


async def test_post_stay_survey_not_sent_days_later(db: Database, settings: Settings) -> None:
    async with db.write() as session:
        guest = await add_guest(session, chat=202)
        await add_booking(session, guest, date(2026, 5, 10), date(2026, 5, 12))
    runner = CampaignRunner(db, context(settings))
    assert (await runner.run("post_stay", hotel_time(date(2026, 5, 15), 12, 0))).due == 0


async def test_birthday_at_nine_in_the_guests_zone_solar_and_lunar(db: Database, settings: Settings) -> None:
    async with db.write() as session:
        ny = await add_guest(session, chat=301, birthday=date(1990, 5, 10), timezone="America/New_York", language="en")
        lunar = await add_guest(session, chat=302, birthday=date(1990, 2, 17), lunar=True)  # lunar 1-22
        await add_guest(session, chat=303, birthday=date(1990, 5, 10), consent=False)
        await add_guest(session, chat=304, birthday=date(1992, 2, 29))
    runner = CampaignRunner(db, context(settings))
    new_york = ZoneInfo("America/New_York")
    before = await runner.run("birthday", datetime(2026, 5, 10, 8, 59, tzinfo=new_york).astimezone(UTC))
    assert before.queued == 0
    report = await runner.run("birthday", datetime(2026, 5, 10, 9, 0, tzinfo=new_york).astimezone(UTC))
    assert report.queued == 1 and report.skipped["no_consent"] == 1
    rows = await _rows(db)
    assert rows[0].dedupe_key == f"birthday:{ny.id}:2026" and "Happy birthday" in rows[0].text
    assert "unsubscribe" in rows[0].text
    lunar_day = await runner.run("birthday", hotel_time(date(2026, 3, 10), 9, 0))  # 农历正月廿二 in 2026
    assert lunar_day.queued == 1
    assert (await _rows(db))[-1].dedupe_key == f"birthday:{lunar.id}:2026" and "农历生日" in (await _rows(db))[-1].text
    leap = await runner.run("birthday", hotel_time(date(2026, 2, 28), 9, 30))
    assert leap.queued == 1  # 29 February celebrated on the 28th in common years
    assert (await runner.run("birthday", hotel_time(date(2026, 5, 10), 23, 0))).queued == 0


async def test_holiday_greeting_for_spring_festival_2027_only_with_consent(db: Database, settings: Settings) -> None:
    async with db.write() as session:
        zh = await add_guest(session, chat=401, name="李四")
        en = await add_guest(session, chat=402, name="Bob", language="en", timezone="Europe/London")
        await add_guest(session, chat=403, consent=False)
        await add_guest(session, chat=None)  # web-only guest: nowhere to push to
    runner = CampaignRunner(db, context(settings))
    assert (await runner.run("holiday", hotel_time(date(2027, 2, 5), 10, 0))).due == 0
    report = await runner.run("holiday", hotel_time(date(2027, 2, 6), 10, 0))
    assert report.queued == 1 and report.skipped == {"no_consent": 1, "no_channel": 1}
    london = await runner.run("holiday", datetime(2027, 2, 6, 10, 0, tzinfo=ZoneInfo("Europe/London")).astimezone(UTC))
    assert london.queued == 1 and london.already == 1
    rows = await _rows(db)
    assert rows[0].dedupe_key == f"holiday:spring_festival:2027:{zh.id}" and "新春快乐" in rows[0].text
    assert rows[1].dedupe_key == f"holiday:spring_festival:2027:{en.id}" and "Chinese New Year" in rows[1].text


async def test_mid_autumn_and_christmas_come_from_the_calendar(db: Database, settings: Settings) -> None:
    async with db.write() as session:
        await add_guest(session, chat=411)
    runner = CampaignRunner(db, context(settings))
    assert (await runner.run("holiday", hotel_time(date(2026, 9, 25), 10, 5))).queued == 1
    assert (await runner.run("holiday", hotel_time(date(2026, 12, 25), 11, 0))).queued == 1
    texts = [row.text for row in await _rows(db)]
    assert "中秋快乐" in texts[0] and "圣诞快乐" in texts[1]
    only_christmas = CampaignRunner(db, context(settings, holidays=["christmas"]))
    assert (await only_christmas.run("holiday", hotel_time(date(2027, 9, 15), 10, 5))).due == 0


async def test_weekly_cap_limits_marketing_but_not_surveys(db: Database, settings: Settings) -> None:
    async with db.write() as session:
        guest = await add_guest(session, chat=501, birthday=date(1980, 1, 1))
        await add_booking(session, guest, date(2025, 12, 29), date(2025, 12, 31))
    runner = CampaignRunner(db, context(settings, weekly_marketing_cap=1))
    assert (await runner.run("holiday", hotel_time(date(2026, 1, 1), 10, 0))).queued == 1  # 元旦
    capped = await runner.run("birthday", hotel_time(date(2026, 1, 1), 9, 30))
    assert capped.queued == 0 and capped.skipped["weekly_cap"] == 1
    assert (await runner.run("post_stay", hotel_time(date(2025, 12, 31), 16, 0))).queued == 1
    later = CampaignRunner(db, context(settings, weekly_marketing_cap=1))
    assert (await later.run("holiday", hotel_time(date(2026, 1, 1) + timedelta(days=31 + 17), 10, 0))).due == 0


async def test_quiet_hours_defer_to_the_morning_in_the_guests_zone(db: Database, settings: Settings) -> None:
    async with db.write() as session:
        guest = await add_guest(session, chat=601, timezone="Europe/London", language="en")
        await add_booking(session, guest, date(2026, 5, 10), date(2026, 5, 11))
    runner = CampaignRunner(db, context(settings))
    now = hotel_time(date(2026, 5, 9), 10, 0)  # 03:00 in London
    report = await runner.run("pre_arrival", now)
    assert report.queued == 1 and report.deferred == 1
    row = (await _rows(db))[0]
    assert row.next_attempt_at == datetime(2026, 5, 9, 8, 0, tzinfo=ZoneInfo("Europe/London")).astimezone(UTC)


async def test_reengagement_after_configured_days_without_a_stay(db: Database, settings: Settings) -> None:
    async with db.write() as session:
        lapsed = await add_guest(session, chat=701)
        imported = await add_guest(session, chat=702)
        returning = await add_guest(session, chat=703)
        await add_booking(session, lapsed, date(2025, 11, 1), date(2025, 11, 3))
        session.add(GuestHistory(guest_id=imported.id or 0, stays=3, nights=5, revenue=3000, last_stay=date(2025, 11, 3)))
        await add_booking(session, returning, date(2025, 11, 1), date(2025, 11, 3))
        await add_booking(session, returning, date(2026, 6, 1), date(2026, 6, 2))  # already coming back
    runner = CampaignRunner(db, context(settings, reengage_after_days=180))
    due_day = date(2025, 11, 3) + timedelta(days=180)
    assert (await runner.run("reengage", hotel_time(due_day, 10, 59))).queued == 0
    report = await runner.run("reengage", hotel_time(due_day, 11, 0))
    assert report.queued == 2
    keys = {row.dedupe_key for row in await _rows(db)}
    assert keys == {f"reengage:{lapsed.id}:2025-11-03", f"reengage:{imported.id}:2025-11-03"}
    assert (await runner.run("reengage", hotel_time(due_day + timedelta(days=3), 11, 0))).queued == 0


async def test_preview_lists_who_gets_what_without_writing(db: Database, settings: Settings) -> None:
    async with db.write() as session:
        guest = await add_guest(session, chat=801, name="王五", birthday=date(1985, 9, 25))
        await add_guest(session, chat=802, consent=False)
        await add_booking(session, guest, date(2026, 9, 26), date(2026, 9, 28))
    runner = CampaignRunner(db, context(settings))
    lines = await runner.preview(date(2026, 9, 25))
    assert await _rows(db) == []
    by_campaign = {(line.campaign, line.guest_id, line.status) for line in lines}
    assert ("birthday", guest.id, "send") in by_campaign
    assert ("pre_arrival", guest.id, "send") in by_campaign
    assert ("holiday", guest.id, "send") in by_campaign  # 中秋 2026-09-25
    assert any(line.status == "skip:no_consent" for line in lines)
