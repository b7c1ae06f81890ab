"""LINE Messaging API against the in-process fake LINE (bot/bench/fake_line.py) over HTTP: signed events in,
replies with the one-time reply token while it is fresh, pushes otherwise, quick replies for choices."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from sqlalchemy import update
from sqlmodel import select

from bot.app import Concierge
from bot.bench.fake_line import FakeLine, LineSent
from crm.models import Booking, Guest, InboxUpdate, Outbox, Ticket
from crm.types import utcnow
from nlp import Analyzer
from tests.channel_helpers import exchange, joined_text, settle_channel
from tests.conftest import SettingsFactory, running


@pytest.fixture
async def line() -> AsyncIterator[FakeLine]:
    async with FakeLine() as fake:
        yield fake


@pytest.fixture
async def bot(make_settings: SettingsFactory, analyzer: Analyzer, line: FakeLine) -> AsyncIterator[Concierge]:
    async with running(make_settings(**line.env()), analyzer) as app:
        yield app


async def _send(
    fake: FakeLine, client: aiohttp.ClientSession, app: Concierge, user: str, event: dict[str, Any]
) -> list[LineSent]:
    return await exchange(app, "line", fake, user, fake.deliver(client, app.port, event))


_text = joined_text


def _choice(messages: list[LineSent], value: str) -> str:
    offered = [data for message in messages for data, _label in message.choices]
    assert value in offered, offered
    return value


async def test_a_guest_is_welcomed_answered_served_and_heard(
    bot: Concierge, line: FakeLine, client: aiohttp.ClientSession
) -> None:
    user = "U4af4980629aaaaaaaaaaaaaaaaaaaaa1"
    welcome = await _send(line, client, bot, user, line.event(user, "follow"))
    assert "欢迎" in _text(welcome) or "Welcome" in _text(welcome)
    assert welcome[0].via == "reply" and welcome[-1].choices  # a reply, with quick replies
    assert "CloudRest-Guest" in _text(
        await _send(line, client, bot, user, line.text(user, "what's the wifi password?"))
    )
    assert "#1" in _text(
        await _send(line, client, bot, user, line.text(user, "Could you send two extra towels to room 1208 please"))
    )
    sorry = _text(await _send(line, client, bot, user, line.text(user, "第三次打電話了，冷氣還是沒人來修，太失望了")))
    assert "#2" in sorry
    async with bot.db.read() as session:
        tickets = list((await session.execute(select(Ticket).order_by(Ticket.id))).scalars())
        alerts = list((await session.execute(select(Outbox).where(Outbox.channel == "staff"))).scalars())
    assert (tickets[1].category, tickets[1].channel) == ("complaint", "line")
    assert any("#2" in alert.text for alert in alerts)
    assert all(message.via == "reply" for message in line.to(user))  # every answer used its free reply token


async def test_a_booking_through_quick_replies(
    make_settings: SettingsFactory, analyzer: Analyzer, line: FakeLine, client: aiohttp.ClientSession
) -> None:
    app = Concierge(make_settings(**line.env()), analyzer=analyzer)
    app.pipeline.clock = lambda: datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
    await app.start()
    try:
        user = "U4af4980629bbbbbbbbbbbbbbbbbbbbb2"
        asked = await _send(
            line, client, app, user, line.text(user, "I'd like to book a room from Dec 24 for 3 nights")
        )
        assert "Which room type" in _text(asked)
        asked = await _send(line, client, app, user, line.postback(user, _choice(asked, "book:room:suite")))
        assert "How many guests" in _text(asked)
        asked = await _send(line, client, app, user, line.postback(user, _choice(asked, "book:guests:2")))
        assert "Under which name" in _text(asked)  # the booker's name, as a front desk asks it
        quote = await _send(line, client, app, user, line.text(user, "Anna Lee"))
        assert "Executive Suite" in _text(quote)
        done = await _send(line, client, app, user, line.postback(user, _choice(quote, "book:confirm")))
        assert "You're booked" in _text(done)
        async with app.db.read() as session:
            [booking] = (await session.execute(select(Booking))).scalars().all()
        assert (booking.room_type, booking.guests) == ("suite", 2)
    finally:
        await app.stop()


async def test_a_bad_signature_is_refused(bot: Concierge, line: FakeLine, client: aiohttp.ClientSession) -> None:
    user = "U4af4980629ccccccccccccccccccccc3"
    assert await line.deliver(client, bot.port, line.text(user, "wifi?"), bad_signature=True) == 403
    async with client.post(f"http://127.0.0.1:{bot.port}/line/webhook", json={"events": []}) as response:
        assert response.status == 403  # unsigned
    assert await line.deliver(client, bot.port) == 200  # the console's "Verify": no events
    async with bot.db.read() as session:
        assert (await session.execute(select(InboxUpdate))).first() is None


async def test_a_redelivered_event_is_answered_once(
    bot: Concierge, line: FakeLine, client: aiohttp.ClientSession
) -> None:
    user = "U4af4980629ddddddddddddddddddddd4"
    event = line.text(user, "早餐几点")
    for attempt in range(3):
        redelivery = {**event, "deliveryContext": {"isRedelivery": attempt > 0}}
        assert await line.deliver(client, bot.port, redelivery) == 200
    await line.wait_for(lambda: line.to(user))
    await settle_channel(bot, "line")
    assert len(line.to(user)) == 1 and "6:30" in line.to(user)[0].text


async def test_a_stale_reply_token_gives_way_to_a_push(
    bot: Concierge, line: FakeLine, client: aiohttp.ClientSession
) -> None:
    user = "U4af4980629eeeeeeeeeeeeeeeeeeeee5"
    await _send(line, client, bot, user, line.text(user, "转人工"))
    async with bot.db.write() as session:  # a staff member answers a minute later: the token is long gone
        await session.execute(update(InboxUpdate).values(received_at=utcnow() - timedelta(minutes=1)))
        ticket = (await session.execute(select(Ticket))).scalars().one()
        guest_id = (await session.execute(select(Guest.id))).scalar_one()
        session.add(
            Outbox(
                channel="line",
                chat_id=user,
                guest_id=guest_id,
                kind="reply",
                text="We'll send a porter up",
                ticket_id=ticket.id,
            )
        )
    bot.deliverer.wake()
    await line.wait_for(lambda: any("porter" in message.text for message in line.to(user)))
    await settle_channel(bot, "line")
    porter = [message for message in line.to(user) if "porter" in message.text]
    assert [message.via for message in porter] == ["push"] and line.refused == []


async def test_unfollow_withdraws_consent_and_sends_nothing(
    bot: Concierge, line: FakeLine, client: aiohttp.ClientSession
) -> None:
    user = "U4af4980629fffffffffffffffffffff6"
    await _send(line, client, bot, user, line.text(user, "wifi?"))
    async with bot.db.write() as session:
        for guest in (await session.execute(select(Guest))).scalars():
            guest.marketing_consent = True
    assert await line.deliver(client, bot.port, line.event(user, "unfollow")) == 200
    await settle_channel(bot, "line")
    async with bot.db.read() as session:
        [guest] = (await session.execute(select(Guest))).scalars().all()
    assert guest.marketing_consent is False and len(line.to(user)) == 1
