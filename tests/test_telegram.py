"""Telegram through the real python-telegram-bot against the fake Bot API server over HTTP."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import aiohttp
from sqlmodel import select

from bot.app import Concierge
from bot.bench.fake_bot_api import FakeBotApi
from bot.channels.telegram.intake import SECRET_HEADER, WEBHOOK_PATH, api_base, parse_update, split_text
from crm.models import Guest, InboxUpdate, Message, Outbox, Ticket
from crm.types import utcnow
from nlp import Analyzer
from tests.conftest import STAFF_CHAT, SettingsFactory
from tests.quiescence import settle


async def test_guest_start_faq_ticket_and_complaint(telegram_bot: Concierge, fake_api: FakeBotApi) -> None:
    guest = 501
    fake_api.push_text(guest, "/start", language="en", first_name="Alice")
    await fake_api.wait_for(lambda: len(fake_api.to_chat(guest)) >= 1)
    welcome = fake_api.to_chat(guest)[0]
    assert "Welcome to Cloud Rest Hotel" in welcome.text and "Alice" in welcome.text
    buttons = [row[0]["callback_data"] for row in welcome.reply_markup["inline_keyboard"]]
    assert "handoff" in buttons

    fake_api.push_text(guest, "what's the wifi password?", language="en")
    await fake_api.wait_for(lambda: len(fake_api.to_chat(guest)) >= 2)
    assert "CloudRest-Guest" in fake_api.to_chat(guest)[1].text

    fake_api.push_text(guest, "Could you send two extra towels to room 1208 please", language="en")
    await fake_api.wait_for(lambda: len(fake_api.to_chat(guest)) >= 3)
    assert "#1" in fake_api.to_chat(guest)[2].text

    fake_api.push_text(guest, "第三次打电话了，空调还是没人来修，太失望了", language="en")
    await fake_api.wait_for(lambda: len(fake_api.to_chat(guest)) >= 4 and len(fake_api.to_chat(STAFF_CHAT)) >= 1)
    assert "#2" in fake_api.to_chat(guest)[3].text and "抱歉" in fake_api.to_chat(guest)[3].text
    alert = fake_api.to_chat(STAFF_CHAT)[0].text
    assert "#2" in alert and "投诉" in alert and "Alice" in alert and "1208" in alert
    assert "空调还是没人来修" in alert


async def test_button_press_is_answered_and_acknowledged(telegram_bot: Concierge, fake_api: FakeBotApi) -> None:
    fake_api.push_button(77, "faq:parking")
    await fake_api.wait_for(lambda: len(fake_api.to_chat(77)) >= 1)
    assert "停车" in fake_api.to_chat(77)[0].text
    await fake_api.wait_for(lambda: "cb1" in fake_api.callback_answers)
    await settle(telegram_bot, fake=fake_api)
    assert fake_api.callback_answers == ["cb1"]  # answered, and once
    assert len(fake_api.to_chat(77)) == 1


async def test_asking_for_a_person_reaches_staff(telegram_bot: Concierge, fake_api: FakeBotApi) -> None:
    fake_api.push_text(88, "转人工", first_name="王")
    await fake_api.wait_for(lambda: fake_api.to_chat(88) and fake_api.to_chat(STAFF_CHAT))
    assert "#1" in fake_api.to_chat(88)[0].text
    assert "#1" in fake_api.to_chat(STAFF_CHAT)[0].text and "转人工" in fake_api.to_chat(STAFF_CHAT)[0].text


async def test_group_and_staff_chat_messages_are_not_treated_as_guests(
    telegram_bot: Concierge, fake_api: FakeBotApi
) -> None:
    fake_api.push_text(9, "hello from the staff group", chat_id=STAFF_CHAT, chat_type="supergroup")
    fake_api.push_text(10, "wifi?", language="en")
    await fake_api.wait_for(lambda: len(fake_api.to_chat(10)) >= 1)
    await settle(telegram_bot, fake=fake_api)
    assert fake_api.to_chat(STAFF_CHAT) == [] and len(fake_api.to_chat(10)) == 1
    async with telegram_bot.db.read() as session:
        assert len((await session.execute(select(Message).where(Message.direction == "in"))).scalars().all()) == 1


async def test_200_messages_from_40_chats_answered_once_and_paced(
    make_settings: SettingsFactory, analyzer: Analyzer, telegram_env: dict[str, str], fake_api: FakeBotApi
) -> None:
    fake_api.per_chat_gap = 0.5  # the fake answers 429 when one chat gets a burst (unpaced: gaps of ~1 ms)
    fake_api.global_limit = 30  # unpaced, the 200 answers would leave in about two seconds
    settings = make_settings(**telegram_env)
    # 20/s, not the default 25: the fake counts arrivals in a strict one-second window, and a busy event
    # loop (PostgreSQL pass) delays some requests into the next one.
    paced = settings.telegram.model_copy(update={"poll_timeout": 1, "rate_limit_per_second": 20.0})
    settings = settings.model_copy(update={"telegram": paced})
    app = Concierge(settings, analyzer=analyzer)
    await app.start()
    try:
        chats = range(1000, 1040)
        questions = ["早餐几点？", "wifi password", "停车场在哪", "有健身房吗", "can I bring my dog"]
        for question in questions:
            for chat in chats:
                fake_api.push_text(chat, question)
        await fake_api.wait_for(lambda: len(fake_api.sent) >= 200, timeout=60)
        await settle(app, fake=fake_api)  # nothing left that could send an extra (a duplicate)
        async with app.db.read() as session:  # before stop(): a read after dispose() opens a pool nobody closes
            statuses = Counter((await session.execute(select(InboxUpdate.status))).scalars())
    finally:
        await app.stop()
    per_chat = Counter(message.chat_id for message in fake_api.sent)
    assert set(per_chat) == set(chats) and set(per_chat.values()) == {5}
    assert fake_api.too_many == 0, fake_api.limited
    for chat in chats:  # answered in the order asked
        texts = [message.text for message in fake_api.to_chat(chat)]
        assert "6:30" in texts[0] and "CloudRest-Guest" in texts[1] and "B1" in texts[2]
    assert statuses == {"done": 200}


async def test_webhook_checks_secret_and_feeds_inbox(
    make_settings: SettingsFactory, analyzer: Analyzer, telegram_env: dict[str, str], fake_api: FakeBotApi
) -> None:
    settings = make_settings(
        **telegram_env,
        CONCIERGE_TELEGRAM_WEBHOOK_URL="https://hotel.example/telegram/webhook",
        CONCIERGE_TELEGRAM_WEBHOOK_SECRET="s3cret-token",
    )
    app = Concierge(settings, analyzer=analyzer)
    await app.start()
    try:
        assert fake_api.webhook["url"] == "https://hotel.example/telegram/webhook"
        assert fake_api.webhook["secret_token"] == "s3cret-token"
        update = {"update_id": 9001, "message": {"message_id": 1, "date": 0, "text": "早餐在哪里吃",
                  "chat": {"id": 321, "type": "private"}, "from": {"id": 321, "is_bot": False, "first_name": "L"}}}
        url = f"http://127.0.0.1:{app.port}{WEBHOOK_PATH}"
        async with aiohttp.ClientSession() as client:
            async with client.post(url, json=update) as response:
                assert response.status == 403
            async with client.post(url, json=update, headers={SECRET_HEADER: "wrong"}) as response:
                assert response.status == 403
            async with client.post(url, data="{bad", headers={SECRET_HEADER: "s3cret-token"}) as response:
                assert response.status == 400
            for _ in range(2):  # Telegram re-delivers when unsure: processed once
                async with client.post(url, json=update, headers={SECRET_HEADER: "s3cret-token"}) as response:
                    assert response.status == 200
        await fake_api.wait_for(lambda: len(fake_api.to_chat(321)) >= 1)
        await settle(app, fake=fake_api)
        assert len(fake_api.to_chat(321)) == 1 and "6:30" in fake_api.to_chat(321)[0].text
    finally:
        await app.stop()


async def test_updates_left_in_the_inbox_by_a_crash_are_answered_after_restart(
    make_settings: SettingsFactory, analyzer: Analyzer, telegram_env: dict[str, str], fake_api: FakeBotApi
) -> None:
    settings = make_settings(**telegram_env)
    settings = settings.model_copy(update={"telegram": settings.telegram.model_copy(update={"poll_timeout": 1})})
    first = Concierge(settings, analyzer=analyzer)
    await first.prepare_store()
    # The poller committed this update and confirmed it to Telegram, then the process died.
    update = {"update_id": 55, "message": {"message_id": 1, "date": 0, "text": "泳池几点开",
              "chat": {"id": 4040, "type": "private"}, "from": {"id": 4040, "is_bot": False, "first_name": "Z"}}}
    await first.pipeline.receive("telegram", "55", "4040", update)
    await first.db.dispose()
    second = Concierge(settings, analyzer=analyzer)
    await second.start()
    try:
        await fake_api.wait_for(lambda: len(fake_api.to_chat(4040)) >= 1)
        assert "7:00" in fake_api.to_chat(4040)[0].text
    finally:
        await second.stop()


def test_api_base_accepts_server_with_or_without_bot_suffix() -> None:
    assert api_base("http://127.0.0.1:8081") == "http://127.0.0.1:8081/bot"
    assert api_base("https://api.telegram.org/bot/") == "https://api.telegram.org/bot"


def test_long_text_is_split_below_telegram_limit() -> None:
    pieces = split_text(("一行文字\n" * 3000))
    assert len(pieces) > 1 and all(len(piece) <= 4096 for piece in pieces)
    assert "".join(pieces).count("一行文字") == 3000


async def test_tickets_are_numbered_per_guest_message(telegram_bot: Concierge, fake_api: FakeBotApi) -> None:
    fake_api.push_text(600, "马桶堵了，房间1502，快来人")
    await fake_api.wait_for(lambda: len(fake_api.to_chat(600)) >= 1)
    async with telegram_bot.db.read() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
    assert ticket.category == "maintenance" and ticket.room_number == "1502" and ticket.priority == "high"
    assert f"#{ticket.id}" in fake_api.to_chat(600)[0].text


def test_malformed_updates_and_callback_data_are_handled() -> None:
    user = {"id": 5, "is_bot": False, "first_name": "G"}
    chat = {"id": 5, "type": "private"}
    assert parse_update({"update_id": 1}) is None
    assert parse_update({"update_id": 1, "message": "not a dict"}) is None
    assert parse_update({"update_id": 1, "message": {"chat": chat}}) is None  # no sender
    assert parse_update({"update_id": 1, "edited_message": {"chat": chat, "from": user, "text": "x"}}) is None
    bot_sender = {**user, "is_bot": True}
    assert parse_update({"update_id": 1, "message": {"chat": chat, "from": bot_sender, "text": "hi"}}) is None
    group = {"id": -9, "type": "group"}
    assert parse_update({"update_id": 1, "message": {"chat": group, "from": user, "text": "hi"}}) is None
    sticker = parse_update({"update_id": 1, "message": {"chat": chat, "from": user, "sticker": {}}})
    assert sticker is not None and sticker.text == "" and sticker.button is None
    forged = parse_update({"update_id": 1, "callback_query": {"id": "c", "from": user, "data": "x" * 65,
                                                               "message": {"chat": chat}}})
    assert forged is not None and forged.button == ""  # answered politely as a stale button
    command = parse_update({"update_id": 1, "message": {"chat": chat, "from": user, "text": "/language@bot en"}})
    assert command is not None and (command.command, command.text) == ("language", "en")


async def test_a_send_cut_off_by_a_crash_is_not_repeated_and_staff_are_told(
    make_settings: SettingsFactory, analyzer: Analyzer, telegram_env: dict[str, str], fake_api: FakeBotApi
) -> None:
    """A row the dead process had marked in flight: its lease expires on restart, the guest is not sent
    the message a second time (it may have arrived), and the staff chat hears which guest to check."""
    settings = make_settings(**telegram_env)
    settings = settings.model_copy(update={"telegram": settings.telegram.model_copy(update={"poll_timeout": 1})})
    app = Concierge(settings, analyzer=analyzer)
    await app.prepare_store()
    async with app.db.write() as session:
        guest = Guest(name="Chen Jing", language="en")
        session.add(guest)
        await session.flush()
        session.add(Outbox(channel="telegram", chat_id="4242", guest_id=guest.id, kind="reply",
                           text="Your room 1208 is ready", status="inflight",
                           next_attempt_at=utcnow() - timedelta(minutes=1)))
    await app.start()
    try:
        await fake_api.wait_for(lambda: fake_api.to_chat(STAFF_CHAT))
        notice = fake_api.to_chat(STAFF_CHAT)[0].text
        assert "Chen Jing" in notice and "Your room 1208 is ready" in notice
        await settle(app, fake=fake_api)
        assert fake_api.to_chat(4242) == [] and len(fake_api.to_chat(STAFF_CHAT)) == 1
        async with app.db.read() as session:
            assert [row.status for row in (await session.execute(select(Outbox).where(Outbox.chat_id == "4242"))).scalars()] == ["unknown"]
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{app.port}/metrics") as response:
                assert "concierge_outbox_unknown 1.0" in await response.text()
    finally:
        await app.stop()


async def test_no_more_bot_api_requests_in_flight_than_configured(
    make_settings: SettingsFactory, analyzer: Analyzer, telegram_env: dict[str, str], fake_api: FakeBotApi
) -> None:
    """Answers to many chats go out concurrently, but never more requests at once than
    ``telegram.max_concurrent_sends`` (each open connection costs the HTTP client CPU per request)."""
    fake_api.send_latency = 0.05
    settings = make_settings(**telegram_env)
    fast = settings.telegram.model_copy(update={"poll_timeout": 1, "max_concurrent_sends": 3,
                                                "rate_limit_per_second": 1000.0, "rate_limit_per_chat_seconds": 0.0})
    app = Concierge(settings.model_copy(update={"telegram": fast}), analyzer=analyzer)
    for chat in range(30):
        fake_api.push_text(6000 + chat, "wifi?", language="en")
    await app.start()
    try:
        await fake_api.wait_for(lambda: all(fake_api.to_chat(6000 + chat) for chat in range(30)), timeout=30)
    finally:
        await app.stop()
    assert fake_api.most_sends_in_flight == 3  # concurrent (not one at a time), and capped


async def test_restart_answers_the_inbox_backlog_and_new_messages_once_each(
    make_settings: SettingsFactory, analyzer: Analyzer, telegram_env: dict[str, str], fake_api: FakeBotApi
) -> None:
    """Start-up queues what the previous run accepted but never processed before polling starts: every
    guest of that backlog is answered after the restart, and so is every message that arrives at start —
    each exactly once, including an update Telegram re-delivers because the crash came before its
    confirmation."""
    settings = make_settings(**telegram_env)
    settings = settings.model_copy(update={"telegram": settings.telegram.model_copy(update={"poll_timeout": 1})})
    crashed = Concierge(settings, analyzer=analyzer)
    await crashed.prepare_store()

    async def accepted_by_the_crashed_run(chat: int, text: str, *, confirmed: bool) -> None:
        fake_api.push_text(chat, text)
        update = fake_api.updates[-1] if not confirmed else fake_api.updates.pop()  # confirmed: Telegram dropped it
        await crashed.pipeline.receive("telegram", str(update["update_id"]), str(chat), update)

    await accepted_by_the_crashed_run(7001, "泳池几点开", confirmed=True)
    await accepted_by_the_crashed_run(7002, "早餐几点？", confirmed=True)
    await accepted_by_the_crashed_run(7003, "停车场在哪", confirmed=True)
    await accepted_by_the_crashed_run(7004, "泳池几点开", confirmed=False)  # Telegram will send it again
    await crashed.db.dispose()
    fake_api.push_text(7001, "wifi password")  # waiting at Telegram: a new question from a backlog guest
    fake_api.push_text(7005, "早餐几点？")
    expected = {7001: ["7:00", "CloudRest-Guest"], 7002: ["6:30"], 7003: ["B1"], 7004: ["7:00"],
                7005: ["6:30"], 7006: ["B1"], 7007: ["CloudRest-Guest"]}

    restarted = Concierge(settings, analyzer=analyzer)
    await restarted.start()
    try:
        fake_api.push_text(7006, "停车场在哪")  # arriving while the backlog is being answered
        fake_api.push_text(7007, "wifi password")
        await fake_api.wait_for(lambda: all(len(fake_api.to_chat(chat)) >= len(answers)
                                             for chat, answers in expected.items()), timeout=30)
        await settle(restarted, fake=fake_api)  # nothing left that could send a duplicate
        async with restarted.db.read() as session:
            statuses = Counter((await session.execute(select(InboxUpdate.status))).scalars())
            inbound = (await session.execute(select(Message.id).where(Message.direction == "in"))).scalars().all()
    finally:
        await restarted.stop()
    for chat, answers in expected.items():
        texts = [message.text for message in fake_api.to_chat(chat)]
        assert len(texts) == len(answers), (chat, texts)
        assert all(any(answer in text for text in texts) for answer in answers), (chat, texts)
    assert statuses == {"done": 8} and len(inbound) == 8  # each update processed once
    # a backlog guest's old question is answered before their new one (recovery takes the chat's turn first)
    assert "7:00" in fake_api.to_chat(7001)[0].text and "CloudRest-Guest" in fake_api.to_chat(7001)[1].text


async def test_a_failed_later_part_of_a_long_message_does_not_resend_the_earlier_ones(
        telegram_bot: Concierge, fake_api: FakeBotApi) -> None:
    guest = 640
    text = "\n".join(f"第{n}行：房价与早餐说明" for n in range(700))  # three pieces
    pieces = split_text(text)
    assert len(pieces) == 3
    fake_api.fail_sends = {fake_api.send_calls + 2}  # the second piece's first attempt fails
    async with telegram_bot.db.write() as session:
        session.add(Outbox(channel="telegram", chat_id=str(guest), kind="reply", text=text))
    telegram_bot.deliverer.wake()
    await fake_api.wait_for(lambda: len(fake_api.to_chat(guest)) >= 3, timeout=20)
    await settle(telegram_bot, fake=fake_api)
    assert [m.text for m in fake_api.to_chat(guest)] == pieces  # each piece once, in order
    async with telegram_bot.db.read() as session:
        row = (await session.execute(select(Outbox).where(Outbox.chat_id == str(guest)))).scalar_one()
    assert row.status == "sent" and row.external_id == str(fake_api.to_chat(guest)[-1].message_id)
