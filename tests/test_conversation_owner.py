"""Issue 15, "who holds the conversation": a conversation is with the bot or with staff, through the real
web API and dashboard (and the fake Bot API for the Telegram staff chat)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import select

from bot.app import Concierge
from crm.models import ConversationState, Guest, Message, Outbox, Ticket, TicketEvent
from crm.types import utcnow
from tests.flow_helpers import WebGuest
from tests.staff_helpers import MANAGER, add_team, base, client, csrf_of, login, reply_on_ticket


@pytest.fixture
async def app(web_bot: Concierge) -> AsyncIterator[Concierge]:
    await add_team(web_bot)
    yield web_bot


async def _tickets(app: Concierge) -> list[Ticket]:
    async with app.db.read() as session:
        return list((await session.execute(select(Ticket).order_by(Ticket.id))).scalars())


async def _inbound(app: Concierge, text: str) -> Message:
    async with app.db.read() as session:
        return (await session.execute(select(Message).where(Message.text == text, Message.direction == "in"))).scalar_one()


async def _events(app: Concierge, ticket_id: int) -> list[str]:
    async with app.db.read() as session:
        rows = await session.execute(select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id))
        return list(rows.scalars())


async def _guest_outbox(app: Concierge) -> list[str]:
    async with app.db.read() as session:
        rows = await session.execute(select(Outbox.text).where(Outbox.channel == "web").order_by(Outbox.id))
        return list(rows.scalars())


async def _action(http: object, app: Concierge, ticket_id: int, action: str, **data: str) -> str:
    async with http.get(base(app) + f"/staff/tickets/{ticket_id}") as response:  # type: ignore[attr-defined]
        token = csrf_of(await response.text())
    async with http.post(base(app) + f"/staff/tickets/{ticket_id}/{action}",  # type: ignore[attr-defined]
                         data={"csrf": token, **data}) as response:
        assert response.status == 200, await response.text()
        return await response.text()


async def test_the_answer_to_a_staff_question_goes_to_staff_not_to_the_bot(app: Concierge) -> None:
    """The manager asked "Which room are you in?" from the dashboard; "1502, thanks" got the praise reply
    and a praise ticket, and no room on file."""
    async with client() as http:
        guest = WebGuest(app, http, "billing", lang="en")
        await guest.say("I was charged twice on my bill")
        [billing] = await _tickets(app)
        await login(http, app, MANAGER)
        await reply_on_ticket(http, app, billing.id or 0, "Which room are you in?")
        assert await guest.say("1502, thanks") == ""  # no praise reply: staff hold the conversation
        assert [t.category for t in await _tickets(app)] == ["billing"]  # and no praise ticket
        assert (await _inbound(app, "1502, thanks")).ticket_id == billing.id
        async with app.db.read() as session:
            ticket = await session.get(Ticket, billing.id)
            guest_row = (await session.execute(select(Guest))).scalar_one()
        assert ticket is not None and ticket.room_number == "1502" and guest_row.room_number == "1502"
        assert "guest_wrote" in await _events(app, billing.id or 0)
        async with http.get(base(app) + f"/staff/tickets/{billing.id}") as response:
            assert "1502, thanks" in await response.text()


async def test_after_a_handoff_a_fault_gets_its_own_ticket_and_thanks_stay_on_the_handoff(app: Concierge) -> None:
    async with client() as http:
        guest = WebGuest(app, http, "handoff")
        ack = await guest.say("转人工")
        assert "#1" in ack and "15 分钟" in ack  # told once what to expect, from the SLA
        fault = await guest.say("1506房间的马桶堵了")
        assert "#2" in fault and "工程" in fault and len(guest.last) == 1  # one short line
        _, maintenance = await _tickets(app)
        assert (maintenance.category, maintenance.room_number) == ("maintenance", "1506")
        assert await guest.say("好的，谢谢") == ""
        assert (await _inbound(app, "好的，谢谢")).ticket_id == 1  # the hand-off ticket, not the newest
        assert [t.category for t in await _tickets(app)] == ["other", "maintenance"]


async def test_a_waiting_guest_is_told_again_only_when_the_first_answer_runs_late(app: Concierge) -> None:
    async with client() as http:
        guest = WebGuest(app, http, "waiting")
        await guest.say("转人工")
        assert await guest.say("在吗") == ""  # within the promised time: nothing more
        async with app.db.write() as session:
            await session.execute(update(Ticket).values(respond_due=utcnow() - timedelta(minutes=1)))
        late = await guest.say("还在吗")
        assert "久等" in late and "#1" in late
        assert await guest.say("喂？") == ""  # once


async def test_the_conversation_returns_to_the_bot_on_resolve_hand_back_or_staff_silence(app: Concierge) -> None:
    async with client() as http:
        await login(http, app, MANAGER)
        guest = WebGuest(app, http, "returns")
        await guest.say("转人工")
        await reply_on_ticket(http, app, 1, "您好，请讲")
        assert await guest.say("早餐几点") == ""
        await _action(http, app, 1, "handback")  # the staff member gives it back
        assert "由我继续" in (await _guest_outbox(app))[-1]
        assert "6:30" in await guest.say("早餐几点")

        await guest.say("转人工")  # ticket 2
        await reply_on_ticket(http, app, 2, "您好")
        await _action(http, app, 2, "resolve")
        assert "由我继续" in (await _guest_outbox(app))[-1]
        assert "6:30" in await guest.say("早餐几点")

        await guest.say("转人工")  # ticket 3; staff answer, then say nothing for longer than the setting
        await reply_on_ticket(http, app, 3, "您好")
        async with app.db.write() as session:
            await session.execute(update(ConversationState).values(staff_active_at=utcnow() - timedelta(minutes=31)))
        back = await guest.say("早餐几点")
        assert "暂时没有回复" in back and "6:30" in back
        assert "returned_to_bot" in await _events(app, 3)


async def test_a_fault_complaint_is_guest_relations_and_a_work_order_for_the_engineers(app: Concierge) -> None:
    async with client() as http:
        guest = WebGuest(app, http, "fault")
        ack = await guest.say("1203房间的空调坏了，一直滴水，吵得睡不着")
        complaint, order = await _tickets(app)
        assert (complaint.category, complaint.department, complaint.room_number) == ("complaint", "guest_relations", "1203")
        assert (order.category, order.department, order.room_number) == ("maintenance", "maintenance", "1203")
        assert "#1" in ack and "#2" in ack and "1203" in ack
        assert "linked" in await _events(app, 1) and "linked" in await _events(app, 2)

        roomless = WebGuest(app, http, "fault-no-room")
        asked = await roomless.say("空调坏了，一直滴水，吵得睡不着，太差了")
        assert "房间号" in asked and [t.category for t in await _tickets(app)] == ["complaint", "maintenance", "complaint"]
        await roomless.say("1705")
        *_, complaint2, order2 = await _tickets(app)
        assert (order2.category, order2.room_number, complaint2.room_number) == ("maintenance", "1705", "1705")
        assert "linked" in await _events(app, complaint2.id or 0)
