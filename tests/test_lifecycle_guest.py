"""The guest's side: survey buttons (web API and Telegram), pre-arrival answers, opting out and in."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import aiohttp
from sqlmodel import select

from bot.app import Concierge
from bot.bench.fake_bot_api import FakeBotApi
from crm.models import ChannelIdentity, Guest, Outbox, StayPreparation, Survey, Ticket, TicketEvent
from crm.types import utcnow
from tests.campaign_worker import shift_to
from tests.conftest import STAFF_CHAT
from tests.lifecycle_helpers import add_booking, hotel_time


async def _chat(client: aiohttp.ClientSession, app: Concierge, session: str, **fields: object) -> dict:
    async with client.post(f"http://127.0.0.1:{app.port}/api/chat", json={"session": session, **fields}) as response:
        assert response.status == 200, await response.text()
        return await response.json()


def _texts(answer: dict) -> str:
    return "\n".join(reply["text"] for reply in answer["replies"])


async def _web_guest(app: Concierge, client: aiohttp.ClientSession, session: str, lang: str = "zh-Hans") -> Guest:
    await _chat(client, app, session, text="/start", lang=lang)
    async with app.db.read() as db_session:
        identity = (await db_session.execute(select(ChannelIdentity).where(ChannelIdentity.external_id == session))).scalar_one()
        guest = await db_session.get(Guest, identity.guest_id)
    assert guest is not None
    return guest


async def _survey_for(app: Concierge, guest: Guest) -> int:
    async with app.db.write() as session:
        survey = Survey(guest_id=guest.id or 0)
        session.add(survey)
        await session.flush()
        assert survey.id is not None
        return survey.id


async def test_low_score_survey_opens_one_recovery_ticket_and_takes_a_comment(web_bot: Concierge) -> None:
    async with aiohttp.ClientSession() as client:
        guest = await _web_guest(web_bot, client, "sv-low")
        survey_id = await _survey_for(web_bot, guest)
        nps_question = await _chat(client, web_bot, "sv-low", button=f"survey:csat:{survey_id}:2")
        values = [b["value"] for b in nps_question["replies"][-1]["buttons"]]
        assert values == [f"survey:nps:{survey_id}:{n}" for n in range(11)]
        thanks = await _chat(client, web_bot, "sv-low", button=f"survey:nps:{survey_id}:3")
        assert "值班经理" in _texts(thanks) and "#" in _texts(thanks)
        assert thanks["replies"][-1]["buttons"][0]["value"] == f"survey:skip:{survey_id}"
        again = await _chat(client, web_bot, "sv-low", button=f"survey:csat:{survey_id}:5")
        assert "已经回答过" in _texts(again)
        comment = await _chat(client, web_bot, "sv-low", text="早餐太冷了，前台态度也不好")
        assert "已记录您的意见" in _texts(comment)
    async with web_bot.db.read() as session:
        survey = await session.get(Survey, survey_id)
        tickets = (await session.execute(select(Ticket))).scalars().all()
        events = (await session.execute(select(TicketEvent.kind).where(TicketEvent.ticket_id == tickets[0].id))).scalars().all()
        staff = (await session.execute(select(Outbox.text).where(Outbox.channel == "staff"))).scalars().all()
    assert survey is not None and (survey.csat, survey.nps, survey.comment) == (2, 3, "早餐太冷了，前台态度也不好")
    assert len(tickets) == 1 and tickets[0].category == "complaint" and tickets[0].priority == "high"
    assert "comment" in events and any("满意度 2/5" in text for text in staff)
    assert any("早餐太冷了" in text for text in staff)


async def test_high_score_is_thanked_and_forged_buttons_are_refused(web_bot: Concierge) -> None:
    async with aiohttp.ClientSession() as client:
        guest = await _web_guest(web_bot, client, "sv-high", lang="en")
        other = await _web_guest(web_bot, client, "sv-other")
        survey_id = await _survey_for(web_bot, guest)
        foreign = await _survey_for(web_bot, other)
        await _chat(client, web_bot, "sv-high", button=f"survey:csat:{survey_id}:5")
        thanks = await _chat(client, web_bot, "sv-high", button=f"survey:nps:{survey_id}:10")
        assert "delighted" in _texts(thanks)
        skipped = await _chat(client, web_bot, "sv-high", button=f"survey:skip:{survey_id}")
        assert "Thank you for your feedback" in _texts(skipped)
        for forged in (f"survey:csat:{foreign}:1", "survey:csat:x:1", f"survey:csat:{survey_id}:9", "survey:nps:1:2:3"):
            answer = await _chat(client, web_bot, "sv-high", button=forged)
            assert "#" not in _texts(answer) and answer["replies"]
    async with web_bot.db.read() as session:
        assert (await session.execute(select(Ticket))).scalars().all() == []
        mine, theirs = await session.get(Survey, survey_id), await session.get(Survey, foreign)
    assert mine is not None and (mine.csat, mine.nps) == (5, 10) and theirs is not None and theirs.csat is None


async def test_opt_out_words_commands_and_opt_in(web_bot: Concierge) -> None:
    async with aiohttp.ClientSession() as client:
        guest = await _web_guest(web_bot, client, "consent")
        async with web_bot.db.write() as session:
            row = await session.get(Guest, guest.id)
            assert row is not None
            row.marketing_consent = True
            session.add(Outbox(channel="telegram", chat_id="1", guest_id=guest.id, kind="campaign", text="x",
                               dedupe_key=f"holiday:christmas:2026:{guest.id}", next_attempt_at=utcnow() + timedelta(hours=9)))
            session.add(Outbox(channel="telegram", chat_id="1", guest_id=guest.id, kind="campaign", text="y",
                               dedupe_key="survey:999999", next_attempt_at=utcnow() + timedelta(hours=9)))
        stopped = await _chat(client, web_bot, "consent", text="退订")
        assert "已为您退订" in _texts(stopped)
        async with web_bot.db.read() as session:
            row = await session.get(Guest, guest.id)
            statuses = dict((await session.execute(select(Outbox.dedupe_key, Outbox.status))).all())
        assert row is not None and not row.marketing_consent and row.consent_source == "web:opt-out"
        assert statuses[f"holiday:christmas:2026:{guest.id}"] == "cancelled" and statuses["survey:999999"] == "pending"
        subscribed = await _chat(client, web_bot, "consent", text="/subscribe")
        assert "已为您订阅" in _texts(subscribed)
        for words in ("/stop", "Unsubscribe!", "STOP"):
            await _chat(client, web_bot, "consent", text="/subscribe")
            answer = await _chat(client, web_bot, "consent", text=words)
            assert "退订" in _texts(answer)
        not_opt_out = await _chat(client, web_bot, "consent", text="我想退订明天的房间")
        assert "已为您退订" not in _texts(not_opt_out)


async def test_pre_arrival_yes_reaches_housekeeping_once(web_bot: Concierge) -> None:
    async with aiohttp.ClientSession() as client:
        guest = await _web_guest(web_bot, client, "prep", lang="en")
        async with web_bot.db.write() as session:
            booking = await add_booking(session, guest, date(2026, 5, 10), date(2026, 5, 12))
            prep = StayPreparation(booking_id=booking.id or 0, guest_id=guest.id or 0,
                                   preferences=[{"key": "pillow", "value": "low", "text": "a low pillow"}])
            session.add(prep)
            await session.flush()
            prep_id = prep.id
        answer = await _chat(client, web_bot, "prep", button=f"prearrival:yes:{prep_id}")
        assert "a low pillow" in _texts(answer)
        again = await _chat(client, web_bot, "prep", button=f"prearrival:no:{prep_id}")
        assert "noted your choice" in _texts(again)
    async with web_bot.db.read() as session:
        stored = await session.get(StayPreparation, prep_id)
        staff = (await session.execute(select(Outbox.text).where(Outbox.channel == "staff"))).scalars().all()
    assert stored is not None and stored.answer == "yes"
    assert len(staff) == 1 and "低枕头" in staff[0] and booking.reference in staff[0]


async def test_post_stay_survey_through_telegram(telegram_bot: Concierge, fake_api: FakeBotApi) -> None:
    user = 7001
    fake_api.push_text(user, "/start", language="en", first_name="Tess")
    await fake_api.wait_for(lambda: len(fake_api.to_chat(user)) >= 1)
    yesterday = datetime.now(hotel_time(date.today(), 0).tzinfo).date() - timedelta(days=1)
    async with telegram_bot.db.write() as session:
        identity = (await session.execute(select(ChannelIdentity).where(ChannelIdentity.external_id == str(user)))).scalar_one()
        guest = await session.get(Guest, identity.guest_id)
        assert guest is not None
        await add_booking(session, guest, yesterday - timedelta(days=2), yesterday, status="checked_out")
    summary = await telegram_bot.scheduler.service.run_job("post_stay", hotel_time(yesterday, 15, 1))
    assert "queued 1" in summary
    telegram_bot.deliverer.time_shift = shift_to(hotel_time(yesterday, 15, 1))  # not in the guest's night, whenever CI runs
    telegram_bot.deliverer.wake()
    await fake_api.wait_for(lambda: len(fake_api.to_chat(user)) >= 2)
    invitation = fake_api.to_chat(user)[1]
    assert "Tess" in invitation.text and "Cloud Rest Hotel" in invitation.text
    buttons = [row[0]["callback_data"] for row in invitation.reply_markup["inline_keyboard"]]
    assert len(buttons) == 5 and buttons[0].startswith("survey:csat:")
    fake_api.push_button(user, buttons[4], language="en")
    await fake_api.wait_for(lambda: len(fake_api.to_chat(user)) >= 3)
    nps = fake_api.to_chat(user)[2]
    assert "recommend" in nps.text
    fake_api.push_button(user, nps.reply_markup["inline_keyboard"][10][0]["callback_data"], language="en")
    await fake_api.wait_for(lambda: len(fake_api.to_chat(user)) >= 5)
    assert "delighted" in fake_api.to_chat(user)[3].text
    assert fake_api.to_chat(STAFF_CHAT) == []
