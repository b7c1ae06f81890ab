"""Issue 15 in the Telegram staff chat (real python-telegram-bot against the fake Bot API): answers in each
staff member's language, and a reply from a card puts the guest's conversation with that staff member."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlmodel import select

import bot.ratelimit
from bot.app import Concierge
from bot.bench.fake_bot_api import FakeBotApi
from crm.models import Message, Ticket
from crm.staff import add_staff
from tests.conftest import STAFF_CHAT
from tests.quiescence import settle

AGENT_TG, MANAGER_TG, GUEST = 700, 701, 88


@pytest.fixture(autouse=True)
def fast_group_pacing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bot.ratelimit, "GROUP_GAP", 0.05)


@pytest.fixture
async def staffed_bot(telegram_bot: Concierge) -> AsyncIterator[Concierge]:
    async with telegram_bot.db.write() as session:
        await add_staff(session, "li.na", "agent", "correct horse", department="front_desk", telegram_user_id=AGENT_TG)
        boss = await add_staff(session, "boss", "manager", "correct horse", telegram_user_id=MANAGER_TG)
        boss.language = "en"  # reads English; the hotel's language is Simplified Chinese
    yield telegram_bot


async def test_answers_and_relays_are_in_the_staff_members_language(staffed_bot: Concierge, fake_api: FakeBotApi) -> None:
    fake_api.push_text(GUEST, "转人工", first_name="王")
    await fake_api.wait_for(lambda: fake_api.to_chat(GUEST) and fake_api.to_chat(STAFF_CHAT))
    card = fake_api.to_chat(STAFF_CHAT)[0]

    pressed = fake_api.push_staff_button(MANAGER_TG, "staff:claim:1", chat_id=STAFF_CHAT, message_id=card.message_id)
    await fake_api.wait_for(lambda: pressed in fake_api.callback_texts)
    assert fake_api.callback_texts[pressed] == "#1 is yours."
    pressed = fake_api.push_staff_button(AGENT_TG, "staff:claim:1", chat_id=STAFF_CHAT, message_id=card.message_id)
    await fake_api.wait_for(lambda: pressed in fake_api.callback_texts)
    assert fake_api.callback_texts[pressed] == "#1 已被 boss 认领。"  # li.na keeps the hotel's language

    fake_api.push_reply(MANAGER_TG, "Which room are you in?", chat_id=STAFF_CHAT, reply_to=card.message_id)
    await fake_api.wait_for(lambda: any("Which room" in sent.text for sent in fake_api.to_chat(GUEST)))
    await fake_api.wait_for(lambda: any("sent to the guest" in sent.text for sent in fake_api.to_chat(STAFF_CHAT)))
    before = len(fake_api.to_chat(GUEST))

    fake_api.push_text(GUEST, "1502, thanks", first_name="王")  # the answer goes to boss, not to the bot
    await fake_api.wait_for(lambda: any("1502, thanks" in sent.text for sent in fake_api.to_chat(STAFF_CHAT)))
    relay = next(sent for sent in fake_api.to_chat(STAFF_CHAT) if "1502, thanks" in sent.text)
    assert relay.text.startswith("💬 #1 guest")  # in boss's English
    async with staffed_bot.db.read() as session:
        tickets = list((await session.execute(select(Ticket))).scalars())
        line = (await session.execute(select(Message).where(Message.text == "1502, thanks"))).scalar_one()
    assert [t.category for t in tickets] == ["other"] and tickets[0].room_number == "1502" and line.ticket_id == 1
    await settle(staffed_bot, fake=fake_api)
    assert len(fake_api.to_chat(GUEST)) == before  # no praise reply


async def test_hand_back_from_the_card_returns_the_guest_to_the_bot(staffed_bot: Concierge, fake_api: FakeBotApi) -> None:
    fake_api.push_text(GUEST, "转人工", first_name="王")
    await fake_api.wait_for(lambda: fake_api.to_chat(GUEST) and fake_api.to_chat(STAFF_CHAT))
    card = fake_api.to_chat(STAFF_CHAT)[0]
    fake_api.push_reply(AGENT_TG, "您好，请讲", chat_id=STAFF_CHAT, reply_to=card.message_id)
    await fake_api.wait_for(lambda: any("请讲" in sent.text for sent in fake_api.to_chat(GUEST)))
    pressed = fake_api.push_staff_button(AGENT_TG, "staff:handback:1", chat_id=STAFF_CHAT, message_id=card.message_id)
    await fake_api.wait_for(lambda: pressed in fake_api.callback_texts)
    assert "交还机器人" in fake_api.callback_texts[pressed]
    await fake_api.wait_for(lambda: any("由我继续" in sent.text for sent in fake_api.to_chat(GUEST)))
    fake_api.push_text(GUEST, "早餐几点", first_name="王")
    await fake_api.wait_for(lambda: any("6:30" in sent.text for sent in fake_api.to_chat(GUEST)))
