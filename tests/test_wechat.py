"""WeChat Official Account against the in-process fake WeChat (bot/bench/fake_wechat.py) over HTTP:
signed (and encrypted) callbacks in, the customer-service API out, the access token shared in the store."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from sqlalchemy import update
from sqlmodel import select

from bot.app import Concierge
from bot.bench.fake_wechat import FakeWeChat
from crm.models import Booking, ChannelToken, Guest, InboxUpdate, Message, Outbox, Ticket
from crm.types import utcnow
from nlp import Analyzer
from tests.channel_helpers import settle_channel
from tests.conftest import SettingsFactory, running

SAFE_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # an EncodingAESKey: 43 characters
CHOICE = re.compile(r"^(\d+)\. (.+)$", re.MULTILINE)


@pytest.fixture
async def wechat() -> AsyncIterator[FakeWeChat]:
    async with FakeWeChat() as fake:
        yield fake


async def _bot(make_settings: SettingsFactory, analyzer: Analyzer, fake: FakeWeChat, **env: str) -> Concierge:
    app = Concierge(make_settings(**fake.env(), **env), analyzer=analyzer)
    await app.start()
    return app


@pytest.fixture
async def bot(make_settings: SettingsFactory, analyzer: Analyzer, wechat: FakeWeChat) -> AsyncIterator[Concierge]:
    async with running(make_settings(**wechat.env()), analyzer) as app:
        yield app


def choice(text: str, wanted: str) -> str:
    """The number of the offered line containing ``wanted``."""
    for number, label in CHOICE.findall(text):
        if wanted in label:
            return number
    raise AssertionError(f"{wanted!r} not offered in {text!r}")


async def _turn(fake: FakeWeChat, client: aiohttp.ClientSession, app: Concierge, openid: str, text: str) -> str:
    before = len(fake.to(openid))
    status, body = await fake.say(client, app.port, openid, text)
    assert (status, body) == (200, "success")
    await fake.wait_for(lambda: len(fake.to(openid)) > before)
    await settle_channel(app, "wechat")
    return "\n".join(message.text for message in fake.to(openid)[before:])


async def test_a_guest_is_welcomed_answered_served_and_heard(
    bot: Concierge, wechat: FakeWeChat, client: aiohttp.ClientSession
) -> None:
    guest = "oGuest-1"
    wechat.last_heard[guest] = 0  # following the account counts as the guest's first interaction
    status, body = await wechat.deliver(client, bot.port, wechat.event_xml(guest, "subscribe"), openid=guest)
    assert (status, body) == (200, "success")
    await wechat.wait_for(lambda: wechat.to(guest))
    welcome = wechat.to(guest)[0].text
    assert "云栖" in welcome or "Cloud Rest" in welcome
    assert re.search(r"^\d+\. ", welcome, re.MULTILINE), "the welcome's buttons come as numbered lines"

    assert "CloudRest-Guest" in await _turn(wechat, client, bot, guest, "wifi密码是多少")
    assert "#1" in await _turn(wechat, client, bot, guest, "请送两条毛巾到1208房间")
    apology = await _turn(wechat, client, bot, guest, "第三次打电话了，空调还是没人来修，太失望了")
    assert "#2" in apology and "抱歉" in apology
    async with bot.db.read() as session:
        tickets = list((await session.execute(select(Ticket).order_by(Ticket.id))).scalars())
        alerts = list((await session.execute(select(Outbox).where(Outbox.channel == "staff"))).scalars())
    assert [(t.category, t.channel) for t in tickets][1] == ("complaint", "wechat")
    assert any("#2" in alert.text and "空调" in alert.text for alert in alerts)  # the staff alert is queued


async def test_a_booking_through_numbered_choices(
    make_settings: SettingsFactory, analyzer: Analyzer, wechat: FakeWeChat, client: aiohttp.ClientSession
) -> None:
    app = await _bot(make_settings, analyzer, wechat)
    try:
        guest = "oBooker"
        asked = await _turn(wechat, client, app, guest, "I'd like to book a room from Dec 24 for 3 nights")
        assert "Which room type" in asked
        asked = await _turn(wechat, client, app, guest, choice(asked, "Suite"))
        assert "How many guests" in asked
        asked = await _turn(wechat, client, app, guest, choice(asked, "2"))
        assert "Under which name" in asked  # the booker's name, as a front desk asks it
        quote = await _turn(wechat, client, app, guest, "Anna Lee")
        assert "Executive Suite" in quote
        done = await _turn(wechat, client, app, guest, choice(quote, "onfirm"))
        assert "You're booked" in done
        async with app.db.read() as session:
            [booking] = (await session.execute(select(Booking))).scalars().all()
        assert (booking.room_type, booking.guests) == ("suite", 2)
    finally:
        await app.stop()


async def test_signatures_are_checked_and_the_url_check_echoes(
    bot: Concierge, wechat: FakeWeChat, client: aiohttp.ClientSession
) -> None:
    assert await wechat.verify(client, bot.port) == (200, "echo-1234")
    assert (await wechat.verify(client, bot.port, good=False))[0] == 403
    _id, xml = wechat.text_xml("oForger", "wifi?")
    assert (await wechat.deliver(client, bot.port, xml, bad_signature=True))[0] == 403
    async with client.post(f"http://127.0.0.1:{bot.port}/wechat/callback", data=xml.encode()) as response:
        assert response.status == 403  # no signature at all
    await settle_channel(bot, "wechat")
    async with bot.db.read() as session:
        assert (await session.execute(select(InboxUpdate))).first() is None


async def test_a_retried_message_is_answered_once(
    bot: Concierge, wechat: FakeWeChat, client: aiohttp.ClientSession
) -> None:
    guest = "oRetry"
    _id, xml = wechat.text_xml(guest, "早餐几点")
    for _ in range(4):  # WeChat's first try and its three retries, same MsgId
        assert await wechat.deliver(client, bot.port, xml, openid=guest) == (200, "success")
    await wechat.wait_for(lambda: wechat.to(guest))
    await settle_channel(bot, "wechat")
    assert len(wechat.to(guest)) == 1 and "6:30" in wechat.to(guest)[0].text


async def test_safe_mode_decrypts_and_refuses_a_forged_body(
    make_settings: SettingsFactory, analyzer: Analyzer, client: aiohttp.ClientSession
) -> None:
    async with FakeWeChat(aes_key=SAFE_KEY) as fake, running(make_settings(**fake.env()), analyzer) as app:
        assert "CloudRest-Guest" in await _turn(fake, client, app, "oSafe", "wifi password?")
        _id, xml = fake.text_xml("oSafe", "wifi?")
        assert (await fake.deliver(client, app.port, xml, bad_signature=True))[0] == 403
        other = FakeWeChat(aes_key=SAFE_KEY, app_id="wx-someone-else")  # right key, another account's AppID
        other.port = fake.port
        assert (await other.deliver(client, app.port, xml))[0] == 403


async def test_access_token_is_stored_shared_and_refreshed_when_refused(
    make_settings: SettingsFactory, analyzer: Analyzer, wechat: FakeWeChat, client: aiohttp.ClientSession
) -> None:
    first = await _bot(make_settings, analyzer, wechat)
    try:
        await _turn(wechat, client, first, "oTok", "wifi?")
        assert wechat.token_fetches == 1
        async with first.db.read() as session:
            [stored] = (await session.execute(select(ChannelToken))).scalars().all()
        assert stored.channel == "wechat" and stored.expires_at > utcnow() + timedelta(hours=1)
        wechat.revoke_tokens()  # WeChat says 40001 to the token both know
        await _turn(wechat, client, first, "oTok", "停车场在哪")
        assert wechat.errors == [40001] and wechat.token_fetches == 2
    finally:
        await first.stop()


async def test_a_token_near_its_expiry_is_refreshed_before_use(
    bot: Concierge, wechat: FakeWeChat, client: aiohttp.ClientSession
) -> None:
    await _turn(wechat, client, bot, "oSoon", "wifi?")
    async with bot.db.write() as session:
        await session.execute(update(ChannelToken).values(expires_at=utcnow() + timedelta(minutes=2)))
    bot.webhook_channels[0].token._token = None  # type: ignore[attr-defined]  # as a fresh worker would
    await _turn(wechat, client, bot, "oSoon", "停车场在哪")
    assert wechat.token_fetches == 2 and wechat.errors == []


async def test_outside_the_48_hour_window_a_staff_reply_is_held_not_dropped(
    bot: Concierge, wechat: FakeWeChat, client: aiohttp.ClientSession
) -> None:
    guest = "oLate"
    await _turn(wechat, client, bot, guest, "转人工")
    async with bot.db.write() as session:  # the guest last wrote three days ago
        await session.execute(
            update(Message).where(Message.direction == "in").values(created_at=utcnow() - timedelta(days=3))
        )
        ticket = (await session.execute(select(Ticket))).scalars().one()
        session.add(
            Outbox(
                channel="wechat",
                chat_id=guest,
                guest_id=ticket.guest_id,
                kind="reply",
                text="Your room is ready",
                ticket_id=ticket.id,
            )
        )
    bot.deliverer.wake()
    await settle_channel(bot, "wechat")
    async with bot.db.read() as session:
        row = (await session.execute(select(Outbox).where(Outbox.text == "Your room is ready"))).scalars().one()
    assert row.status == "held" and "48-hour" in (row.last_error or "")
    assert all("ready" not in message.text for message in wechat.to(guest))


async def test_unsubscribe_withdraws_consent_and_sends_nothing(
    bot: Concierge, wechat: FakeWeChat, client: aiohttp.ClientSession
) -> None:
    guest = "oLeaving"
    await _turn(wechat, client, bot, guest, "wifi?")
    async with bot.db.write() as session:
        for row in (await session.execute(select(Guest))).scalars():
            row.marketing_consent = True
    assert (await wechat.deliver(client, bot.port, wechat.event_xml(guest, "unsubscribe"), openid=guest))[0] == 200
    await settle_channel(bot, "wechat")
    async with bot.db.read() as session:
        [row] = (await session.execute(select(Guest))).scalars().all()
        queued = (
            await session.execute(select(Outbox).where(Outbox.channel == "wechat", Outbox.status != "sent"))
        ).all()
    assert row.marketing_consent is False and queued == []
    assert len(wechat.to(guest)) == 1


async def test_odd_digits_after_numbered_choices_get_an_answer_not_a_traceback(
    bot: Concierge, wechat: FakeWeChat, client: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """'²' and '٣' pass ``str.isdigit()`` but not ``int()``: a guest typing one where a number picks a choice
    gets a reply like anyone else, and nothing fails in the log."""
    guest = "oOddDigits"
    asked = await _turn(wechat, client, bot, guest, "I'd like to book a room from Dec 24 for 3 nights")
    assert "Which room type" in asked and CHOICE.search(asked)
    for odd in ("²", "٣", "０"):
        assert await _turn(wechat, client, bot, guest, odd)  # answered
    assert not [r for r in caplog.records if r.levelname == "ERROR" or r.exc_info], caplog.records[:3]
