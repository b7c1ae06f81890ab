"""Issue 15, "who holds the conversation": a guest held by staff is told without writing again — when staff
fall silent (the bot takes the conversation back) and when the first answer runs late. Through the web
chat (API and socket), the dashboard, and the scheduler's SLA job run with the clock moved forward."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from sqlmodel import select

from bot.app import Concierge
from crm.models import ConversationState, Message, Outbox, TicketEvent
from crm.types import utcnow
from tests.flow_helpers import WebGuest
from tests.quiescence import full_round
from tests.staff_helpers import MANAGER, add_team, base, client, login, reply_on_ticket


@pytest.fixture
async def app(web_bot: Concierge) -> AsyncIterator[Concierge]:
    await add_team(web_bot)
    yield web_bot


async def _frame(socket: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    return json.loads((await socket.receive(timeout=10)).data)  # type: ignore[no-any-return]


async def _sweep(app: Concierge, minutes_later: float) -> str:
    """The scheduler's SLA job, as it runs ``minutes_later`` from now; then the sender goes round."""
    summary = await app.scheduler.service.run_job("sla", utcnow() + timedelta(minutes=minutes_later))
    await full_round(app.deliverer)
    return summary


async def _answer(socket: aiohttp.ClientWebSocketResponse, session: str, text: str) -> dict[str, Any]:
    """The guest writes on the socket; the next frame must be the bot's answer — a duplicate push still
    on its way would arrive first (the sender went round before this was sent)."""
    await socket.send_str(json.dumps({"session": session, "text": text, "id": f"{session}-next"}))
    frame = await _frame(socket)
    assert frame.get("id") == f"{session}-next", frame
    return frame


async def _guest_rows(app: Concierge, text: str) -> list[tuple[str, str | None]]:
    async with app.db.read() as session:
        rows = await session.execute(
            select(Outbox.status, Outbox.dedupe_key).where(Outbox.channel == "web", Outbox.text.contains(text))  # type: ignore[attr-defined]
        )
        return [tuple(row) for row in rows.all()]  # type: ignore[misc]


async def _logged(app: Concierge, text: str) -> int:
    async with app.db.read() as session:
        rows = await session.execute(select(Message.id).where(Message.direction == "out", Message.text.contains(text)))  # type: ignore[attr-defined]
        return len(rows.all())


async def test_staff_silence_gives_the_conversation_back_and_the_waiting_guest_is_told_once(app: Concierge) -> None:
    async with client() as http:
        await login(http, app, MANAGER)
        guest = WebGuest(app, http, "silence")
        await guest.say("转人工")
        async with http.ws_connect(base(app) + "/ws?session=silence") as socket:
            await reply_on_ticket(http, app, 1, "您好，请讲")
            assert (await _frame(socket))["replies"][0]["text"] == "您好，请讲"

            await _sweep(app, 29)
            assert await _guest_rows(app, "暂时没有回复") == []  # not silent long enough yet
            summary = await _sweep(app, 31)
            told = await _frame(socket)  # without the guest writing again
            assert "暂时没有回复" in told["replies"][0]["text"]
            assert told["from"] == "bot"  # the bot speaks again: the page must not show it as a nameless staff reply
            assert "1 conversations returned" in summary

            # the job again, and two workers' jobs at once: nobody is told twice
            await asyncio.gather(_sweep(app, 32), _sweep(app, 32))
            assert "0 conversations returned" in await _sweep(app, 33)
            [(status, key)] = await _guest_rows(app, "暂时没有回复")
            assert status == "sent" and key is not None and key.startswith("handoff:silence:")
            assert await _logged(app, "暂时没有回复") == 1

            answer = await _answer(socket, "silence", "早餐几点")  # the bot answers for itself again
            assert "6:30" in answer["replies"][0]["text"]
    async with app.db.read() as session:
        kinds = (await session.execute(select(TicketEvent.kind).where(TicketEvent.ticket_id == 1))).scalars().all()
        state = (await session.execute(select(ConversationState))).scalar_one()
    assert list(kinds).count("returned_to_bot") == 1
    assert not state.handoff and state.staff_id is None


async def test_a_staff_reply_in_time_keeps_the_conversation_with_staff(app: Concierge) -> None:
    async with client() as http:
        await login(http, app, MANAGER)
        guest = WebGuest(app, http, "busy-staff")
        await guest.say("转人工")
        await reply_on_ticket(http, app, 1, "您好")
        async with app.db.write() as session:  # the first reply was long ago; the second just now
            state = (await session.execute(select(ConversationState))).scalar_one()
            state.staff_active_at = utcnow() - timedelta(minutes=40)
        await reply_on_ticket(http, app, 1, "还需要什么吗？")
        assert "0 conversations returned" in await _sweep(app, 20)
        assert await guest.say("早餐几点") == ""  # still with staff: relayed, not answered by the bot


async def test_a_waiting_guest_is_told_when_the_first_answer_runs_late_without_writing(app: Concierge) -> None:
    async with client() as http:
        guest = WebGuest(app, http, "late")
        assert "15 分钟" in await guest.say("转人工")  # told once what to expect
        async with http.ws_connect(base(app) + "/ws?session=late") as socket:
            await _sweep(app, 14)
            assert await _guest_rows(app, "久等") == []  # within the promised 15 minutes: nothing
            await _sweep(app, 16)
            late = (await _frame(socket))["replies"][0]["text"]  # without the guest writing again
            assert "久等" in late and "#1" in late
            await asyncio.gather(_sweep(app, 17), _sweep(app, 17))
            assert await _guest_rows(app, "久等") == [("sent", "handoff:late:1")]
            answer = await _answer(socket, "late", "还在吗")  # still with staff: relayed, and not told again
            assert answer["replies"] == []
