"""The web chat: page, JSON API and WebSocket through the whole pipeline, in Chinese and English."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from sqlmodel import select

from bot.app import Concierge
from crm.models import InboxUpdate, Message, Outbox, Ticket
from handlers import router


def _url(app: Concierge, path: str) -> str:
    return f"http://127.0.0.1:{app.port}{path}"


async def _chat(client: aiohttp.ClientSession, app: Concierge, session: str, **fields: object) -> dict:
    async with client.post(_url(app, "/api/chat"), json={"session": session, **fields}) as response:
        assert response.status == 200, await response.text()
        return await response.json()


def _texts(answer: dict) -> str:
    return "\n".join(reply["text"] for reply in answer["replies"])


async def test_health_and_page(web_bot: Concierge) -> None:
    async with aiohttp.ClientSession() as client:
        async with client.get(_url(web_bot, "/healthz")) as response:
            assert response.status == 200 and (await response.json())["status"] == "ok"
        async with client.get(_url(web_bot, "/")) as response:
            page = await response.text()
            assert response.status == 200 and "/static/chat.js" in page
        async with client.get(_url(web_bot, "/static/chat.js")) as response:
            assert response.status == 200 and "textContent" in await response.text()


async def test_chinese_guest_gets_welcome_faq_and_ticket(web_bot: Concierge) -> None:
    async with aiohttp.ClientSession() as client:
        welcome = await _chat(client, web_bot, "zh1", text="/start")
        assert "欢迎来到云栖酒店" in _texts(welcome)
        assert {b["value"] for b in welcome["replies"][0]["buttons"]} >= {"handoff", "menu:faq"}
        breakfast = await _chat(client, web_bot, "zh1", text="早餐几点开始？")
        assert "6:30" in _texts(breakfast)
        towels = await _chat(client, web_bot, "zh1", text="麻烦送两条毛巾到1208房间")
        assert "#1" in _texts(towels) and "客房部" in _texts(towels)
    async with web_bot.db.read() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
        assert (ticket.category, ticket.department, ticket.room_number) == ("housekeeping", "housekeeping", "1208")
        messages = (await session.execute(select(Message).order_by(Message.id))).scalars().all()
        assert [m.direction for m in messages].count("in") == 3
        assert any(m.direction == "out" and "#1" in m.text for m in messages)


async def test_english_complaint_is_escalated_to_staff(web_bot: Concierge) -> None:
    async with aiohttp.ClientSession() as client:
        answer = await _chat(client, web_bot, "en1", text="This is the third time I call, nobody came to fix the AC. Very disappointed!")
    text = _texts(answer)
    assert "sorry" in text.lower() and "#1" in text
    async with web_bot.db.read() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
        assert ticket.category == "complaint" and ticket.priority == "high"
        alert = (await session.execute(select(Outbox).where(Outbox.channel == "staff"))).scalar_one()
        assert "#1" in alert.text and "nobody came to fix the AC" in alert.text


async def test_buttons_have_text_fallback_and_work(web_bot: Concierge) -> None:
    async with aiohttp.ClientSession() as client:
        menu = await _chat(client, web_bot, "b1", button="menu:faq")
        values = [b["value"] for b in menu["replies"][0]["buttons"]]
        assert "faq:wifi" in values
        wifi = await _chat(client, web_bot, "b1", button="faq:wifi")
        assert "CloudRest-Guest" in _texts(wifi)
        forged = await _chat(client, web_bot, "b1", button="drop table")
        assert forged["replies"] and "#" not in _texts(forged)


async def test_websocket_round_trip(web_bot: Concierge) -> None:
    async with aiohttp.ClientSession() as client:
        async with client.ws_connect(_url(web_bot, "/ws")) as socket:
            await socket.send_str(json.dumps({"session": "ws1", "text": "How do I get to the hotel from the metro?", "id": "m1"}))
            answer = json.loads((await socket.receive()).data)
            assert answer["id"] == "m1" and "Nanjing" in _texts(answer)
            await socket.send_str("not json")
            assert "error" in json.loads((await socket.receive()).data)


async def test_resent_message_is_answered_once(web_bot: Concierge) -> None:
    async with aiohttp.ClientSession() as client:
        first = await _chat(client, web_bot, "dup", text="请帮我把空调修一下，房间 808", id="same-id")
        again = await _chat(client, web_bot, "dup", text="请帮我把空调修一下，房间 808", id="same-id")
    assert _texts(first) == _texts(again)
    async with web_bot.db.read() as session:
        assert len((await session.execute(select(Ticket))).scalars().all()) == 1
        assert len((await session.execute(select(InboxUpdate))).scalars().all()) == 1


async def test_bad_input_gets_a_clear_answer(web_bot: Concierge) -> None:
    async with aiohttp.ClientSession() as client:
        async with client.post(_url(web_bot, "/api/chat"), data="{not json") as response:
            assert response.status == 400 and "JSON" in (await response.json())["error"]
        async with client.post(_url(web_bot, "/api/chat"), json={"session": "../etc", "text": "hi"}) as response:
            assert response.status == 400 and "session" in (await response.json())["error"]
        async with client.post(_url(web_bot, "/api/chat"), data=b"x" * 200_000) as response:
            assert response.status == 413
        junk = ["🙂🙂🙂", "<script>alert(1)</script>", "asdkjh qwe zzz", "'; DROP TABLE guest; --", "\x00\x07", "   "]
        for number, text in enumerate(junk):
            answer = await _chat(client, web_bot, f"junk{number}", text=text)
            assert answer["replies"] and all(reply["text"] for reply in answer["replies"])
        long_paste = "房间很好。" * 2000
        answer = await _chat(client, web_bot, "junk", text=long_paste)
        assert answer["replies"]
    async with web_bot.db.read() as session:
        stored = (await session.execute(select(Message.text).where(Message.text == long_paste))).scalar_one()
        assert len(stored) == 10_000


async def test_concurrent_guests_all_answered(web_bot: Concierge) -> None:
    async with aiohttp.ClientSession() as client:
        answers = await asyncio.gather(
            *(_chat(client, web_bot, f"c{i}", text="wifi password?") for i in range(30))
        )
    assert all("CloudRest-Guest" in _texts(answer) for answer in answers)


async def test_a_bug_in_a_handler_gets_a_polite_answer_and_keeps_the_message(
    web_bot: Concierge, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(turn: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(router, "route_text", broken)
    async with aiohttp.ClientSession() as client:
        answer = await _chat(client, web_bot, "bug", text="早餐几点")
    assert "出了点问题" in _texts(answer) and "Traceback" not in _texts(answer)
    async with web_bot.db.read() as session:
        row = (await session.execute(select(InboxUpdate))).scalar_one()
    assert row.status == "failed" and row.payload["text"] == "早餐几点" and "RuntimeError" in (row.error or "")
