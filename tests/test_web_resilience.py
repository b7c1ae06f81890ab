"""The web chat after crashes and reloads, through the HTTP API: message ids make a retry safe, the inbox
sweep answers what a crash left behind, history brings the conversation back, and the headers keep the
page where the hotel put it."""

from __future__ import annotations

from datetime import datetime

import aiohttp
import pytest
from sqlmodel import func, select

from bot.app import Concierge
from bot.channels.web import history
from bot.pipeline import Pending
from bot.staff.auth import LOGIN_COOKIE, SESSION_COOKIE
from crm import inbox
from crm.models import InboxUpdate, Message
from nlp import Analyzer
from tests.conftest import SettingsFactory
from tests.quiescence import settle
from tests.staff_helpers import AGENT, MANAGER, PASSWORD, add_team, client, csrf_of, login, reply_on_ticket

SESSION = "0123456789abcdef0123456789abcdef"  # what the page makes: 128 random bits in hex


def _url(app: Concierge, path: str) -> str:
    return f"http://127.0.0.1:{app.port}{path}"


async def _post(http: aiohttp.ClientSession, app: Concierge, **body: object) -> tuple[int, dict]:
    async with http.post(_url(app, "/api/chat"), json={"session": SESSION, **body}) as response:
        return response.status, await response.json()


async def _inbound_lines(app: Concierge, text: str) -> int:
    async with app.db.read() as session:
        return int((await session.execute(
            select(func.count()).select_from(Message).where(Message.direction == "in", Message.text == text)
        )).scalar_one())


async def test_a_repeated_message_id_is_answered_with_the_first_replies(web_bot: Concierge) -> None:
    async with aiohttp.ClientSession() as http:
        status, first = await _post(http, web_bot, id="m-1", text="请送两条毛巾到1208房间")
        assert status == 200 and first["id"] == "m-1" and "#1" in first["replies"][0]["text"]
        status, again = await _post(http, web_bot, id="m-1", text="请送两条毛巾到1208房间")
        assert status == 200 and again == first
        status, other = await _post(http, web_bot, id="m-2", text="请送两条毛巾到1208房间")
        assert other["replies"] != first["replies"]  # a new id is a new message (here: the same request again)
        for bad in ("x" * 65, "has space", 7):
            status, answer = await _post(http, web_bot, id=bad, text="hi")
            assert status == 400 and "'id'" in answer["error"]
    assert await _inbound_lines(web_bot, "请送两条毛巾到1208房间") == 2


async def test_a_repeat_that_loses_the_claim_to_another_worker_gets_the_first_replies(web_bot: Concierge) -> None:
    """Two workers behind one address: both read the row while it was pending, one claims it; the page's
    repeat on the other must still get the answer, not an empty one."""
    payload = {"session": SESSION, "id": "race-1", "text": "早餐几点开始"}
    inbox_id, _ = await inbox.accept(web_bot.db, "web", f"{SESSION}:race-1", SESSION, payload)
    first = await web_bot.pipeline.process(inbox_id, Pending("web", SESSION, payload))
    second = await web_bot.pipeline.process(inbox_id, Pending("web", SESSION, payload))  # read before the claim
    assert first.replies and second.duplicate and second.replies == first.replies
    assert await _inbound_lines(web_bot, "早餐几点开始") == 1


async def test_a_message_a_crash_left_unprocessed_is_answered_at_restart(
        make_settings: SettingsFactory, analyzer: Analyzer) -> None:
    """The crash: the request's inbox row committed, then the process died before the turn ran (the page
    saw 'Failed to fetch'). The next start answers it; the page's re-send with the same id gets that answer."""
    settings = make_settings()
    app = Concierge(settings, analyzer=analyzer)
    await app.prepare_store()
    payload = {"session": SESSION, "id": "lost-1", "text": "早餐几点开始"}
    await inbox.accept(app.db, "web", f"{SESSION}:lost-1", SESSION, payload)
    await app.db.dispose()
    restarted = Concierge(settings, analyzer=analyzer)
    await restarted.start()
    try:
        await settle(restarted)  # no client has come back: the sweep alone answers it
        async with restarted.db.read() as session:
            row = (await session.execute(select(InboxUpdate))).scalar_one()
            answers = (await session.execute(
                select(Message.text).where(Message.inbox_id == row.id, Message.direction == "out"))).scalars().all()
        assert row.status == "done" and any("6:30" in text for text in answers)
        async with aiohttp.ClientSession() as http:
            status, resent = await _post(http, restarted, id="lost-1", text="早餐几点开始")
        assert status == 200 and [r["text"] for r in resent["replies"]] == answers
        assert await _inbound_lines(restarted, "早餐几点开始") == 1
    finally:
        await restarted.stop()


async def test_history_brings_back_the_conversation_with_staff_names(web_bot: Concierge) -> None:
    await add_team(web_bot)
    async with client() as http:
        await _post(http, web_bot, id="a1", text="/start")
        await _post(http, web_bot, id="a2", text="我要投诉，空调坏了一直滴水，房间 1203")
        await login(http, web_bot, MANAGER)
        async with web_bot.db.read() as session:
            linked = select(Message.ticket_id).where(Message.ticket_id.is_not(None))  # type: ignore[union-attr]
            ticket_id = (await session.execute(linked)).scalars().first()
        await reply_on_ticket(http, web_bot, ticket_id, "工程师十分钟内到")
        async with http.get(_url(web_bot, "/api/chat/history"), params={"session": SESSION}) as response:
            assert response.status == 200
            messages = (await response.json())["messages"]
    assert [m["from"] for m in messages][:2] == ["guest", "bot"] and messages[0]["id"] == "a1"
    assert messages[1]["buttons"] and {"label", "value"} <= set(messages[1]["buttons"][0])
    assert messages[-1]["from"] == "staff" and messages[-1]["text"] == "工程师十分钟内到"
    assert messages[-1]["staff_name"] == MANAGER and "staff_name" not in messages[1]
    assert [m["id"] for m in messages if m["from"] == "guest"] == ["a1", "a2"]
    stamps = [datetime.fromisoformat(m["at"]) for m in messages]
    assert stamps == sorted(stamps) and all(s.utcoffset() is not None for s in stamps)


async def test_history_is_bounded_and_refused_for_guessable_sessions(
        web_bot: Concierge, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(history, "MAX_LINES", 5)
    async with aiohttp.ClientSession() as http:
        for n in range(4):
            await _post(http, web_bot, id=f"b{n}", text=f"第{n}个问题：早餐几点")
        async with http.get(_url(web_bot, "/api/chat/history"), params={"session": SESSION}) as response:
            messages = (await response.json())["messages"]
        assert len(messages) == 5 and messages[-1]["from"] == "bot" and messages[-2]["text"] == "第3个问题：早餐几点"
        for short in ("abc", "0123456789abcde", ""):
            async with http.get(_url(web_bot, "/api/chat/history"), params={"session": short}) as response:
                assert response.status == 400
        async with http.get(_url(web_bot, "/api/chat/history"), params={"session": "f" * 32}) as response:
            assert (await response.json()) == {"messages": []}  # nobody: nothing, and no hint either way


async def test_the_page_names_the_hotel(web_bot: Concierge) -> None:
    async with aiohttp.ClientSession() as http:
        for lang, name in (("zh-CN", "云栖酒店"), ("zh-TW", "雲棲酒店"), ("en-GB", "Cloud Rest Hotel")):
            async with http.get(_url(web_bot, "/api/chat/hotel"), params={"lang": lang}) as response:
                assert (await response.json())["name"] == name


async def test_nosniff_everywhere_and_framing_only_by_configured_sites(
        make_settings: SettingsFactory, analyzer: Analyzer) -> None:
    async with aiohttp.ClientSession() as http:
        for origins, expected in (("", "frame-ancestors 'none'"),
                                  ("https://www.cloudrest.example, http://localhost:8000",
                                   "frame-ancestors https://www.cloudrest.example http://localhost:8000")):
            app = Concierge(make_settings(CONCIERGE_HTTP_EMBED_ORIGINS=origins), analyzer=analyzer)
            await app.start()
            try:
                async with http.get(_url(app, "/")) as response:
                    assert expected in response.headers["Content-Security-Policy"]
                for method, path in (("GET", "/healthz"), ("POST", "/api/chat"), ("GET", "/nowhere"),
                                     ("GET", "/static/nothing.js"), ("GET", "/metrics"), ("GET", "/staff/login"),
                                     ("GET", "/api/chat/history?session=x"), ("GET", "/static/widget.js")):
                    async with http.request(method, _url(app, path), data="{") as response:
                        assert response.headers.get("X-Content-Type-Options") == "nosniff", (path, response.status)
            finally:
                await app.stop()


async def test_session_cookie_is_secure_only_behind_a_trusted_tls_proxy(
        make_settings: SettingsFactory, analyzer: Analyzer) -> None:
    app = Concierge(make_settings(CONCIERGE_HTTP_TRUSTED_PROXIES="127.0.0.1"), analyzer=analyzer)
    await app.start()
    await add_team(app)
    untrusted = Concierge(make_settings(), analyzer=analyzer)  # same store, no proxy configured
    await untrusted.start()
    try:
        for bot, secure in ((app, True), (untrusted, False)):
            # no cookie jar: a jar would not send a Secure cookie back over this plain-HTTP hop
            async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar(),
                                             headers={"X-Forwarded-Proto": "https"}) as http:
                async with http.get(_url(bot, "/staff/login")) as response:
                    form_cookie = response.cookies[LOGIN_COOKIE]
                    token = csrf_of(await response.text())
                assert bool(form_cookie["secure"]) is secure
                async with http.post(_url(bot, "/staff/login"), allow_redirects=False,
                                     data={"csrf": token, "name": AGENT, "password": PASSWORD},
                                     headers={"Cookie": f"{LOGIN_COOKIE}={form_cookie.value}"}) as response:
                    assert response.status == 303
                    assert bool(response.cookies[SESSION_COOKIE]["secure"]) is secure
    finally:
        await untrusted.stop()
        await app.stop()
