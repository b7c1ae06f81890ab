"""Staff in Telegram through the real python-telegram-bot against the fake Bot API: cards, buttons,
reply-to-card relay, commands, and strangers being refused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from sqlmodel import select

import bot.ratelimit
from bot.app import Concierge
from bot.bench.fake_bot_api import FakeBotApi
from crm.models import InboxUpdate, Message, StaffUser, Ticket, TicketEvent
from crm.staff import add_staff
from nlp import Analyzer
from tests.conftest import STAFF_CHAT, SettingsFactory
from tests.quiescence import settle

STAFF_TG = 700
MANAGER_TG = 701
STRANGER_TG = 999
GUEST = 88


@pytest.fixture(autouse=True)
def fast_group_pacing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Telegram allows 20 messages a minute per group; the tests need not wait 3 s between cards."""
    monkeypatch.setattr(bot.ratelimit, "GROUP_GAP", 0.05)


@pytest.fixture
async def staffed_bot(telegram_bot: Concierge) -> AsyncIterator[Concierge]:
    async with telegram_bot.db.write() as session:
        await add_staff(session, "li.na", "agent", "correct horse", department="front_desk", telegram_user_id=STAFF_TG)
        await add_staff(session, "boss", "manager", "correct horse", telegram_user_id=MANAGER_TG)
    yield telegram_bot


async def _ticket(app: Concierge, ticket_id: int) -> Ticket:
    async with app.db.read() as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        return ticket


async def _wait(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """For what the fake does not signal (callback answers): poll briefly."""
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


def _buttons(markup: dict | None) -> list[str]:
    return [button["callback_data"] for row in (markup or {}).get("inline_keyboard", []) for button in row]


async def _card(fake_api: FakeBotApi) -> int:
    """The guest asks for a person; returns the message id of the card posted to the staff chat."""
    fake_api.push_text(GUEST, "转人工，房间1208的空调坏了", first_name="王")
    await fake_api.wait_for(lambda: fake_api.to_chat(GUEST) and fake_api.to_chat(STAFF_CHAT))
    card = fake_api.to_chat(STAFF_CHAT)[0]
    assert "#1" in card.text and "空调坏了" in card.text and "响应时限" in card.text and "待认领" in card.text
    assert _buttons(card.reply_markup) == ["staff:claim:1", "staff:resolve:1", "staff:reply:1"]
    return card.message_id


async def test_staff_claims_replies_and_resolves_from_the_card(staffed_bot: Concierge, fake_api: FakeBotApi) -> None:
    card_id = await _card(fake_api)

    claim = fake_api.push_staff_button(STAFF_TG, "staff:claim:1", chat_id=STAFF_CHAT, message_id=card_id)
    await fake_api.wait_for(lambda: len(fake_api.edits) >= 1)
    assert "li.na" in fake_api.edits[-1].text and "已认领" in fake_api.edits[-1].text
    assert _buttons(fake_api.edits[-1].reply_markup) == ["staff:resolve:1", "staff:reply:1", "staff:handback:1"]
    ticket = await _ticket(staffed_bot, 1)
    assert ticket.status == "claimed" and ticket.first_response_at is not None
    await _wait(lambda: claim in fake_api.callback_texts)
    assert "#1" in fake_api.callback_texts[claim]

    fake_api.push_reply(STAFF_TG, "您好，工程师5分钟内到。", chat_id=STAFF_CHAT, reply_to=card_id)
    await fake_api.wait_for(lambda: any("工程师5分钟内到" in m.text for m in fake_api.to_chat(GUEST)))
    await fake_api.wait_for(lambda: any("已发送给客人" in m.text for m in fake_api.to_chat(STAFF_CHAT)))
    async with staffed_bot.db.read() as session:
        relayed = (await session.execute(select(Message).where(Message.author.like("staff:%")))).scalar_one()  # type: ignore[attr-defined]
        assert relayed.ticket_id == 1 and relayed.direction == "out" and relayed.channel == "telegram"

    fake_api.push_staff_button(STAFF_TG, "staff:resolve:1", chat_id=STAFF_CHAT, message_id=card_id)
    await fake_api.wait_for(lambda: any("已由 li.na 解决" in e.text for e in fake_api.edits))
    assert _buttons(fake_api.edits[-1].reply_markup) == []
    ticket = await _ticket(staffed_bot, 1)
    assert ticket.status == "resolved" and ticket.resolved_at is not None
    async with staffed_bot.db.read() as session:
        kinds = [e.kind for e in (await session.execute(select(TicketEvent).where(TicketEvent.ticket_id == 1))).scalars()]
    assert kinds[-3:] == ["claimed", "replied", "resolved"]


async def test_a_stranger_cannot_act(staffed_bot: Concierge, fake_api: FakeBotApi) -> None:
    card_id = await _card(fake_api)
    pressed = fake_api.push_staff_button(STRANGER_TG, "staff:claim:1", chat_id=STAFF_CHAT, message_id=card_id)
    await _wait(lambda: pressed in fake_api.callback_texts)
    assert "只有登记过的员工" in fake_api.callback_texts[pressed]
    fake_api.push_reply(STRANGER_TG, "I'll handle it", chat_id=STAFF_CHAT, reply_to=card_id)
    fake_api.push_text(STRANGER_TG, "/resolve 1", chat_id=STAFF_CHAT, chat_type="supergroup")
    await fake_api.wait_for(lambda: sum("只有登记过的员工" in m.text for m in fake_api.to_chat(STAFF_CHAT)) >= 2)
    await settle(staffed_bot, fake=fake_api)  # whatever the stranger's updates were going to do is done
    assert (await _ticket(staffed_bot, 1)).status == "open"
    assert fake_api.edits == []
    assert not any("handle it" in m.text for m in fake_api.to_chat(GUEST))
    # A guest forging a staff button in their own chat gets the same answer, not the guest pipeline.
    forged = fake_api.push_staff_button(GUEST, "staff:resolve:1", chat_id=GUEST, message_id=1)
    await _wait(lambda: forged in fake_api.callback_texts)
    assert (await _ticket(staffed_bot, 1)).status == "open"


async def test_commands_list_show_and_resolve(staffed_bot: Concierge, fake_api: FakeBotApi) -> None:
    await _card(fake_api)
    fake_api.push_text(MANAGER_TG, "/tickets", chat_id=STAFF_CHAT, chat_type="supergroup")
    await fake_api.wait_for(lambda: any("未完成的工单" in m.text for m in fake_api.to_chat(STAFF_CHAT)))
    listing = next(m.text for m in fake_api.to_chat(STAFF_CHAT) if "未完成的工单" in m.text)
    assert "#1" in listing and "前台" in listing

    fake_api.push_text(MANAGER_TG, "/ticket 1", chat_id=STAFF_CHAT, chat_type="supergroup")
    await fake_api.wait_for(lambda: len(fake_api.to_chat(STAFF_CHAT)) >= 3)
    shown = fake_api.to_chat(STAFF_CHAT)[2]
    assert "空调坏了" in shown.text and "staff:claim:1" in _buttons(shown.reply_markup)

    fake_api.push_text(MANAGER_TG, "/resolve 1 遥控器没电了", chat_id=STAFF_CHAT, chat_type="supergroup")
    await fake_api.wait_for(lambda: any("#1 已解决" in m.text for m in fake_api.to_chat(STAFF_CHAT)))
    ticket = await _ticket(staffed_bot, 1)
    assert ticket.status == "resolved" and ticket.root_cause == "遥控器没电了"
    await fake_api.wait_for(lambda: any("遥控器没电了" in e.text for e in fake_api.edits))

    fake_api.push_text(MANAGER_TG, "/resolve 1", chat_id=STAFF_CHAT, chat_type="supergroup")
    await fake_api.wait_for(lambda: any("已经解决了" in m.text for m in fake_api.to_chat(STAFF_CHAT)))
    async with staffed_bot.db.read() as session:
        staff_rows = (await session.execute(select(InboxUpdate).where(InboxUpdate.channel == "telegram_staff"))).scalars().all()
        guest_in = (await session.execute(select(Message).where(Message.direction == "in"))).scalars().all()
    assert len(staff_rows) == 4 and {row.status for row in staff_rows} == {"done"}
    assert len(guest_in) == 1  # staff commands never reach the guest pipeline


async def test_agent_of_another_department_is_refused(staffed_bot: Concierge, fake_api: FakeBotApi) -> None:
    async with staffed_bot.db.write() as session:
        await add_staff(session, "chef", "agent", "correct horse", department="food_beverage", telegram_user_id=702)
    card_id = await _card(fake_api)
    pressed = fake_api.push_staff_button(702, "staff:claim:1", chat_id=STAFF_CHAT, message_id=card_id)
    await _wait(lambda: pressed in fake_api.callback_texts)
    assert "其他部门" in fake_api.callback_texts[pressed]
    assert (await _ticket(staffed_bot, 1)).status == "open"


async def test_department_chat_gets_its_cards(
    make_settings: SettingsFactory, analyzer: Analyzer, telegram_env: dict[str, str], fake_api: FakeBotApi
) -> None:
    settings = make_settings(**telegram_env)
    telegram = settings.telegram.model_copy(update={"poll_timeout": 1, "department_chats": {"front_desk": -100555}})
    app = Concierge(settings.model_copy(update={"telegram": telegram}), analyzer=analyzer)
    await app.start()
    try:
        fake_api.push_text(GUEST, "转人工")
        await fake_api.wait_for(lambda: fake_api.to_chat(-100555))
        assert "#1" in fake_api.to_chat(-100555)[0].text and fake_api.to_chat(STAFF_CHAT) == []
    finally:
        await app.stop()


async def test_resolving_a_complaint_asks_the_guest_and_hands_the_chat_back(
    staffed_bot: Concierge, fake_api: FakeBotApi
) -> None:
    fake_api.push_text(GUEST, "房间1208隔壁装修吵了一晚上，太失望了", first_name="王")
    await fake_api.wait_for(lambda: fake_api.to_chat(GUEST) and fake_api.to_chat(STAFF_CHAT))
    assert "值班经理" in fake_api.to_chat(GUEST)[0].text
    card = fake_api.to_chat(STAFF_CHAT)[0]
    fake_api.push_staff_button(MANAGER_TG, "staff:resolve:1", chat_id=STAFF_CHAT, message_id=card.message_id)
    await fake_api.wait_for(lambda: len(fake_api.to_chat(GUEST)) >= 2)
    question = fake_api.to_chat(GUEST)[1]
    assert "解决了吗" in question.text and _buttons(question.reply_markup) == ["fu:1:yes", "fu:1:no"]
    fake_api.push_button(GUEST, "fu:1:yes")
    await fake_api.wait_for(lambda: len(fake_api.to_chat(GUEST)) >= 3)
    assert "感谢您的耐心" in fake_api.to_chat(GUEST)[2].text
    ticket = await _ticket(staffed_bot, 1)
    assert ticket.status == "closed"
    async with staffed_bot.db.read() as session:
        kinds = [e.kind for e in (await session.execute(select(TicketEvent).where(TicketEvent.ticket_id == 1))).scalars()]
    assert kinds[:3] == ["created", "apologised", "escalated"]
    assert "resolved" in kinds and "follow_up_sent" in kinds and kinds[-1] == "guest_confirmed_solved"


async def test_resolving_hands_a_held_conversation_back_to_the_bot(staffed_bot: Concierge, fake_api: FakeBotApi) -> None:
    card_id = await _card(fake_api)  # the guest asked for a person: the bot went quiet
    fake_api.push_staff_button(STAFF_TG, "staff:resolve:1", chat_id=STAFF_CHAT, message_id=card_id)
    await fake_api.wait_for(lambda: len(fake_api.edits) >= 1)
    fake_api.push_text(GUEST, "早餐几点？")
    await fake_api.wait_for(lambda: any("6:30" in m.text for m in fake_api.to_chat(GUEST)))


async def test_answers_and_relays_are_in_the_staff_members_language(staffed_bot: Concierge, fake_api: FakeBotApi) -> None:
    """Issue 15: the boss reads English (the hotel's language is Simplified Chinese); and a reply from a
    card puts the guest's conversation with that staff member: the guest's answer is relayed, not answered."""
    async with staffed_bot.db.write() as session:
        boss = (await session.execute(select(StaffUser).where(StaffUser.name == "boss"))).scalar_one()
        boss.language = "en"
    fake_api.push_text(GUEST, "转人工", first_name="王")
    await fake_api.wait_for(lambda: fake_api.to_chat(GUEST) and fake_api.to_chat(STAFF_CHAT))
    card = fake_api.to_chat(STAFF_CHAT)[0]

    pressed = fake_api.push_staff_button(MANAGER_TG, "staff:claim:1", chat_id=STAFF_CHAT, message_id=card.message_id)
    await fake_api.wait_for(lambda: pressed in fake_api.callback_texts)
    assert fake_api.callback_texts[pressed] == "#1 is yours."
    pressed = fake_api.push_staff_button(STAFF_TG, "staff:claim:1", chat_id=STAFF_CHAT, message_id=card.message_id)
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
    fake_api.push_reply(STAFF_TG, "您好，请讲", chat_id=STAFF_CHAT, reply_to=card.message_id)
    await fake_api.wait_for(lambda: any("请讲" in sent.text for sent in fake_api.to_chat(GUEST)))
    pressed = fake_api.push_staff_button(STAFF_TG, "staff:handback:1", chat_id=STAFF_CHAT, message_id=card.message_id)
    await fake_api.wait_for(lambda: pressed in fake_api.callback_texts)
    assert "交还机器人" in fake_api.callback_texts[pressed]
    await fake_api.wait_for(lambda: any("由我继续" in sent.text for sent in fake_api.to_chat(GUEST)))
    fake_api.push_text(GUEST, "早餐几点", first_name="王")
    await fake_api.wait_for(lambda: any("6:30" in sent.text for sent in fake_api.to_chat(GUEST)))


async def test_a_card_is_in_the_language_its_readers_share(staffed_bot: Concierge, fake_api: FakeBotApi) -> None:
    """Issue 15: staff cards were always in the hotel's language. A card is read by everyone who may see
    the ticket (its department's agents and the managers): in their language when they share one."""
    async with staffed_bot.db.write() as session:
        for member in (await session.execute(select(StaffUser))).scalars():
            member.language = "en"
    fake_api.push_text(GUEST, "转人工", first_name="王")
    await fake_api.wait_for(lambda: fake_api.to_chat(STAFF_CHAT))
    card = fake_api.to_chat(STAFF_CHAT)[0]
    assert card.text.startswith("🔔 #1 · Other") and "Respond by" in card.text and "open" in card.text
    assert _labels(card.reply_markup) == ["🙋 Claim", "✅ Resolve", "✍️ Reply"]
    async with staffed_bot.db.write() as session:  # readers who differ: the hotel's language
        agent = (await session.execute(select(StaffUser).where(StaffUser.name == "li.na"))).scalar_one()
        agent.language = None
    fake_api.push_text(GUEST + 1, "转人工", first_name="李")
    await fake_api.wait_for(lambda: len(fake_api.to_chat(STAFF_CHAT)) >= 2)
    assert "响应时限" in fake_api.to_chat(STAFF_CHAT)[1].text


def _labels(markup: dict | None) -> list[str]:
    return [button["text"] for row in (markup or {}).get("inline_keyboard", []) for button in row]
