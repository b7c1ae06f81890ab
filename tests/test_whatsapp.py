"""WhatsApp Cloud API against the in-process fake Graph API (bot/bench/fake_whatsapp.py) over HTTP: signed
webhooks in, interactive reply buttons and lists out, templates outside the 24-hour window."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from sqlalchemy import update
from sqlmodel import select

from bot.app import Concierge
from bot.bench.fake_whatsapp import FakeWhatsApp, WhatsAppSent
from crm.models import Booking, Guest, InboxUpdate, Message, Outbox, Ticket
from crm.types import utcnow
from nlp import Analyzer
from tests import staff_helpers
from tests.channel_helpers import exchange, joined_text, settle_channel
from tests.conftest import SettingsFactory, running

CAMPAIGN_TEMPLATE, REPLY_TEMPLATE = "hotel_news", "staff_followup"


@pytest.fixture
async def whatsapp() -> AsyncIterator[FakeWhatsApp]:
    async with FakeWhatsApp() as fake:
        yield fake


@pytest.fixture
async def bot(make_settings: SettingsFactory, analyzer: Analyzer, whatsapp: FakeWhatsApp) -> AsyncIterator[Concierge]:
    settings = make_settings(**whatsapp.env())
    settings = settings.model_copy(
        update={
            "whatsapp": settings.whatsapp.model_copy(
                update={"campaign_template": CAMPAIGN_TEMPLATE, "reply_template": REPLY_TEMPLATE}
            )
        }
    )
    async with running(settings, analyzer) as app:
        yield app


async def _send(
    fake: FakeWhatsApp, client: aiohttp.ClientSession, app: Concierge, wa_id: str, body: dict[str, object]
) -> list[WhatsAppSent]:
    return await exchange(app, "whatsapp", fake, wa_id, fake.deliver(client, app.port, body))


_text = joined_text


def _choice(messages: list[WhatsAppSent], wanted: str) -> str:
    for message in messages:
        for choice_id, title in message.choices:
            if wanted in title or wanted == choice_id:
                return choice_id
    raise AssertionError(f"{wanted!r} not offered: {[m.choices for m in messages]}")


async def test_a_guest_is_welcomed_answered_served_and_heard(
    bot: Concierge, whatsapp: FakeWhatsApp, client: aiohttp.ClientSession
) -> None:
    guest = "8613800000001"
    welcome = await _send(whatsapp, client, bot, guest, whatsapp.text_message(guest, "hello"))
    assert "Welcome to Cloud Rest Hotel" in _text(welcome) or "欢迎" in _text(welcome)
    assert any(message.kind == "interactive" for message in welcome)
    answer = await _send(whatsapp, client, bot, guest, whatsapp.text_message(guest, "what's the wifi password?"))
    assert "CloudRest-Guest" in _text(answer)
    ticket = await _send(
        whatsapp,
        client,
        bot,
        guest,
        whatsapp.text_message(guest, "Could you send two extra towels to room 1208 please"),
    )
    assert "#1" in _text(ticket)
    sorry = await _send(
        whatsapp, client, bot, guest, whatsapp.text_message(guest, "第三次打电话了，空调还是没人来修，太失望了")
    )
    assert "#2" in _text(sorry) and "抱歉" in _text(sorry)
    async with bot.db.read() as session:
        tickets = list((await session.execute(select(Ticket).order_by(Ticket.id))).scalars())
        alerts = list((await session.execute(select(Outbox).where(Outbox.channel == "staff"))).scalars())
    assert (tickets[1].category, tickets[1].channel) == ("complaint", "whatsapp")
    assert any("#2" in alert.text and "空调" in alert.text for alert in alerts)


async def test_a_booking_through_reply_buttons_and_a_list(
    make_settings: SettingsFactory, analyzer: Analyzer, whatsapp: FakeWhatsApp, client: aiohttp.ClientSession
) -> None:
    app = Concierge(make_settings(**whatsapp.env()), analyzer=analyzer)
    app.pipeline.clock = lambda: datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
    await app.start()
    try:
        guest = "447700900123"
        asked = await _send(
            whatsapp,
            client,
            app,
            guest,
            whatsapp.text_message(guest, "I'd like to book a room from Dec 24 for 3 nights"),
        )
        assert "Which room type" in _text(asked)
        rooms = next(message for message in asked if message.choices)
        assert rooms.body["interactive"]["type"] == "list"  # more than three choices: a list
        asked = await _send(
            whatsapp,
            client,
            app,
            guest,
            whatsapp.button_message(guest, _choice(asked, "book:room:suite"), as_list=True),
        )
        assert "How many guests" in _text(asked)
        asked = await _send(
            whatsapp, client, app, guest, whatsapp.button_message(guest, _choice(asked, "book:guests:2"))
        )
        assert "Under which name" in _text(asked)  # the booker's name, as a front desk asks it
        quote = await _send(whatsapp, client, app, guest, whatsapp.text_message(guest, "Anna Lee"))
        assert "Executive Suite" in _text(quote)
        confirm = next(message for message in quote if message.choices)
        assert confirm.body["interactive"]["type"] == "button" and len(confirm.choices) <= 3
        done = await _send(whatsapp, client, app, guest, whatsapp.button_message(guest, _choice(quote, "book:confirm")))
        assert "You're booked" in _text(done)
        async with app.db.read() as session:
            [booking] = (await session.execute(select(Booking))).scalars().all()
        assert (booking.room_type, booking.guests) == ("suite", 2)
    finally:
        await app.stop()


async def test_verification_and_signatures(
    bot: Concierge, whatsapp: FakeWhatsApp, client: aiohttp.ClientSession
) -> None:
    url = f"http://127.0.0.1:{bot.port}/whatsapp/webhook"
    query = {"hub.mode": "subscribe", "hub.verify_token": whatsapp.verify_token, "hub.challenge": "1158201444"}
    async with client.get(url, params=query) as response:
        assert (response.status, await response.text()) == (200, "1158201444")
    async with client.get(url, params={**query, "hub.verify_token": "guess"}) as response:
        assert response.status == 403
    body = whatsapp.text_message("15550001111", "wifi?")
    assert await whatsapp.deliver(client, bot.port, body, bad_signature=True) == 403
    async with client.post(url, json=body) as response:
        assert response.status == 403  # unsigned
    assert await whatsapp.deliver(client, bot.port, whatsapp.status_notification("15550001111")) == 200
    await settle_channel(bot, "whatsapp")
    async with bot.db.read() as session:
        assert (await session.execute(select(InboxUpdate))).first() is None  # statuses are not stored
    assert whatsapp.sent == []


async def test_a_redelivered_message_is_answered_once(
    bot: Concierge, whatsapp: FakeWhatsApp, client: aiohttp.ClientSession
) -> None:
    guest = "8613800000002"
    body = whatsapp.text_message(guest, "早餐几点", wamid="wamid.HBgLODYxMzgwMDAwMDAwMhUCABIYFjNFQjA")
    for _ in range(3):
        assert await whatsapp.deliver(client, bot.port, body) == 200
    await whatsapp.wait_for(lambda: whatsapp.to(guest))
    await settle_channel(bot, "whatsapp")
    assert len(whatsapp.to(guest)) == 1 and "6:30" in whatsapp.to(guest)[0].text


def _noon_zone() -> str:
    """A fixed-offset zone where it is about noon now, so quiet hours never hold the campaign back."""
    offset = 12 - utcnow().hour
    return f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}" if offset else "Etc/GMT"


async def test_outside_the_window_a_campaign_goes_as_a_template_and_a_staff_reply_too(
    bot: Concierge, whatsapp: FakeWhatsApp, client: aiohttp.ClientSession
) -> None:
    guest = "8613800000003"
    await _send(whatsapp, client, bot, guest, whatsapp.text_message(guest, "转人工"))
    zone = _noon_zone()
    today = utcnow().astimezone(ZoneInfo(zone)).date()
    async with bot.db.write() as session:  # the guest last wrote three days ago, and it is their birthday
        await session.execute(
            update(Message).where(Message.direction == "in").values(created_at=utcnow() - timedelta(days=3))
        )
        row = (await session.execute(select(Guest))).scalars().one()
        row.marketing_consent, row.birthday, row.timezone, row.language = (
            True,
            date(1990, today.month, today.day),
            zone,
            "en",
        )
        guest_id = row.id
    whatsapp.last_heard[guest] = 0  # and the platform agrees
    await bot.scheduler.service.run_job("birthday", utcnow())
    bot.deliverer.wake()
    await whatsapp.wait_for(lambda: any(message.kind == "template" for message in whatsapp.to(guest)))
    [greeting] = [message for message in whatsapp.to(guest) if message.kind == "template"]
    assert greeting.body["template"]["name"] == CAMPAIGN_TEMPLATE and "birthday" in greeting.text.lower()
    assert greeting.body["template"]["language"]["code"] == "en"

    async with bot.db.write() as session:  # a staff member answers the hand-off ticket now, days later
        ticket = (await session.execute(select(Ticket))).scalars().one()
        session.add(
            Outbox(
                channel="whatsapp",
                chat_id=guest,
                guest_id=guest_id,
                kind="reply",
                text="Sorry for the wait: your late check-out is confirmed",
                ticket_id=ticket.id,
            )
        )
    bot.deliverer.wake()
    await whatsapp.wait_for(lambda: sum(message.kind == "template" for message in whatsapp.to(guest)) == 2)
    assert whatsapp.to(guest)[-1].body["template"]["name"] == REPLY_TEMPLATE
    assert 131047 not in whatsapp.errors  # never tried free-form outside the window


async def test_without_a_template_a_late_message_is_held_for_staff(
    make_settings: SettingsFactory, analyzer: Analyzer, whatsapp: FakeWhatsApp, client: aiohttp.ClientSession
) -> None:
    app = Concierge(make_settings(**whatsapp.env()), analyzer=analyzer)
    await app.start()
    try:
        guest = "8613800000004"
        await _send(whatsapp, client, app, guest, whatsapp.text_message(guest, "wifi?"))
        async with app.db.write() as session:
            await session.execute(
                update(Message).where(Message.direction == "in").values(created_at=utcnow() - timedelta(days=2))
            )
            guest_id = (await session.execute(select(Guest.id))).scalar_one()
            session.add(
                Outbox(channel="whatsapp", chat_id=guest, guest_id=guest_id, kind="reply", text="Your taxi is here")
            )
        app.deliverer.wake()
        await settle_channel(app, "whatsapp")
        async with app.db.read() as session:
            row = (await session.execute(select(Outbox).where(Outbox.text == "Your taxi is here"))).scalars().one()
        assert row.status == "held" and "24-hour" in (row.last_error or "")
        assert all("taxi" not in message.text for message in whatsapp.to(guest))
        await staff_helpers.add_team(app)
        async with staff_helpers.client() as staff:  # staff see it on the guest's page
            await staff_helpers.login(staff, app, staff_helpers.MANAGER)
            async with staff.get(staff_helpers.base(app) + f"/staff/guests/{guest_id}") as response:
                page = await response.text()
        assert "Your taxi is here" in page and "24-hour" in page
        await _send(whatsapp, client, app, guest, whatsapp.text_message(guest, "停车场在哪"))  # the window opens again
        await whatsapp.wait_for(lambda: any("taxi" in message.text for message in whatsapp.to(guest)))
        await settle_channel(app, "whatsapp")
        assert sum("taxi" in message.text for message in whatsapp.to(guest)) == 1
    finally:
        await app.stop()


async def test_a_late_staff_reply_without_a_template_is_held_and_staff_are_told_live(
    make_settings: SettingsFactory, analyzer: Analyzer, whatsapp: FakeWhatsApp, client: aiohttp.ClientSession
) -> None:
    """Issue 17: "held and shown to staff, never dropped" — an open dashboard hears of it at once."""
    app = Concierge(make_settings(**whatsapp.env()), analyzer=analyzer)  # no templates configured
    await app.start()
    try:
        guest = "8613800000005"
        await _send(whatsapp, client, app, guest, whatsapp.text_message(guest, "转人工"))  # hand-off ticket #1
        async with app.db.write() as session:  # the guest last wrote two days ago
            await session.execute(
                update(Message).where(Message.direction == "in").values(created_at=utcnow() - timedelta(days=2))
            )
            guest_id = (await session.execute(select(Guest.id))).scalar_one()
        whatsapp.last_heard[guest] = 0
        await staff_helpers.add_team(app)
        async with staff_helpers.client() as manager:
            await staff_helpers.login(manager, app, staff_helpers.MANAGER)
            stream = await staff_helpers.open_stream(manager, app)
            await staff_helpers.reply_on_ticket(manager, app, 1, "Your late check-out is confirmed")
            news = await staff_helpers.next_news(stream)
            while news["event"] != "held":
                news = await staff_helpers.next_news(stream)
            stream.close()
        assert news["title"].startswith("发给") and "WhatsApp 的 24 小时客服窗口" in news["title"]
        assert (news["url"], news["ticket"]) == (f"/staff/guests/{guest_id}", 1)
        assert news["text"] == "Your late check-out is confirmed"
        async with app.db.read() as session:
            query = select(Outbox).where(Outbox.text == "Your late check-out is confirmed")
            row = (await session.execute(query)).scalars().one()
        assert row.status == "held" and "24-hour" in (row.last_error or "")
        assert all("late check-out" not in message.text for message in whatsapp.to(guest))
        async with staff_helpers.client() as manager:  # the ticket's timeline says so too
            await staff_helpers.login(manager, app, staff_helpers.MANAGER)
            async with manager.get(staff_helpers.base(app) + "/staff/tickets/1") as response:
                page = await response.text()
        assert "消息已暂扣" in page and "WhatsApp" in page
    finally:
        await app.stop()
