"""The staff dashboard over HTTP: sessions, CSRF, roles, escaping, the queue and ticket actions, search,
guest profiles, reports and CSV. (The same journeys in a real browser are in test_staff_browser.py.)"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from sqlalchemy import update
from sqlmodel import select

from bot.app import Concierge
from bot.staff import reports
from bot.staff.auth import THROTTLE_KEY
from crm.models import AuditLog, Message, Outbox, Survey, Ticket
from crm.types import utcnow
from nlp import Analyzer
from tests.conftest import SettingsFactory
from tests.quiescence import full_round
from tests.staff_helpers import ADMIN, AGENT, CHEF, MANAGER, base, client, csrf_of, login, reply_on_ticket, say


@pytest.fixture
async def app(web_bot: Concierge) -> AsyncIterator[Concierge]:
    from tests.staff_helpers import add_team

    await add_team(web_bot)
    yield web_bot


async def _ticket(app: Concierge, ticket_id: int) -> Ticket:
    async with app.db.read() as session:
        ticket = await session.get(Ticket, ticket_id)
    assert ticket is not None
    return ticket


async def _web_row(app: Concierge, settled: bool = False) -> tuple[str, int]:
    """(status, attempts) of the one staff reply to a web guest. With `settled`, waits (up to 5 s) while the
    row is still `sending`: the socket gets the frame before the sender's mark is committed."""
    for _ in range(100):
        async with app.db.read() as session:
            row = (await session.execute(select(Outbox).where(Outbox.channel == "web"))).scalar_one()
        if not (settled and row.status == "sending"):
            break
        await asyncio.sleep(0.05)
    return row.status, row.attempts


async def test_logged_out_access_redirects_to_login(app: Concierge) -> None:
    async with client() as http:
        for path in ("/staff/tickets", "/staff/reports", "/staff/tickets/1", "/staff/guests/1"):
            async with http.get(base(app) + path, allow_redirects=False) as response:
                assert response.status == 303
                assert response.headers["Location"].startswith("/staff/login?next=")
        async with http.post(base(app) + "/staff/tickets/1/claim", data={"csrf": "x"}, allow_redirects=False) as response:
            assert response.status == 303 and response.headers["Location"].startswith("/staff/login")


async def test_login_sets_a_safe_cookie_and_rejects_bad_passwords(app: Concierge) -> None:
    async with client() as http:
        response = await login(http, app, AGENT, "wrong password")
        assert response.status == 401
        response = await login(http, app, AGENT)
        assert response.status == 303 and response.headers["Location"] == "/staff/tickets"
        cookie = next(value for key, value in response.headers.items() if key == "Set-Cookie" and "concierge_staff=" in value)
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/staff" in cookie
        async with http.get(base(app) + "/staff/tickets") as page:
            assert page.status == 200 and AGENT in await page.text()
            assert "Content-Security-Policy" in page.headers
    async with client() as http:  # the login form has its own CSRF token
        async with http.post(base(app) + "/staff/login", data={"name": AGENT, "password": "x"}) as response:
            assert response.status == 403


async def test_login_is_throttled_after_repeated_failures(app: Concierge) -> None:
    throttle = app.web_app[THROTTLE_KEY]
    throttle.by_name.clock = throttle.by_address.clock = lambda: 1000.0  # no time passes: the wait holds
    async with client() as http:
        for _ in range(5):
            assert (await login(http, app, MANAGER, "nope nope")).status == 401
        assert (await login(http, app, MANAGER)).status == 429


async def test_open_redirect_after_login_is_refused(app: Concierge) -> None:
    async with client() as http:
        async with http.get(base(app) + "/staff/login?next=//evil.example/x") as response:
            page = await response.text()
        async with http.post(base(app) + "/staff/login", allow_redirects=False, data={
            "csrf": csrf_of(page), "name": AGENT, "password": "correct horse battery", "next": "https://evil.example/"}) as response:
            assert response.headers["Location"] == "/staff/tickets"


async def test_post_without_csrf_token_is_rejected(app: Concierge) -> None:
    async with client() as http:
        await say(http, app, "g1", "转人工")
        await login(http, app, AGENT)
        for data in ({}, {"csrf": "forged"}):
            async with http.post(base(app) + "/staff/tickets/1/claim", data=data) as response:
                assert response.status == 403
        assert (await _ticket(app, 1)).status == "open"
        async with http.get(base(app) + "/staff/tickets/1") as response:
            token = csrf_of(await response.text())
        async with http.post(base(app) + "/staff/tickets/1/claim", data={"csrf": token}) as response:
            assert response.status == 200 and "done=claimed" in str(response.url)
        assert (await _ticket(app, 1)).status == "claimed"


async def test_roles_are_enforced_on_every_route(app: Concierge) -> None:
    async with client() as http:
        await say(http, app, "g1", "转人工")  # a front-desk ticket
        await login(http, app, CHEF)  # food & beverage agent
        for path in ("/staff/reports", "/staff/logs", "/staff/users", "/staff/export/tickets.csv", "/staff/tickets/1",
                     "/staff/guests/1"):
            async with http.get(base(app) + path) as response:
                assert response.status == 403, path
        async with http.get(base(app) + "/staff/tickets") as response:
            assert "#1" not in await response.text()
    async with client() as http:
        await login(http, app, AGENT)
        async with http.get(base(app) + "/staff/tickets") as response:
            assert 'href="/staff/tickets/1"' in await response.text()
        async with http.get(base(app) + "/staff/users") as response:
            assert response.status == 403
    async with client() as http:
        await login(http, app, MANAGER)
        async with http.get(base(app) + "/staff/users") as response:
            assert response.status == 403
        async with http.get(base(app) + "/staff/reports") as response:
            assert response.status == 200


async def test_guest_text_is_escaped_everywhere(app: Concierge) -> None:
    evil = '转人工 <script>alert("x")</script><img src=x onerror=alert(1)>'
    async with client() as http:
        await say(http, app, "g1", evil)
        await login(http, app, MANAGER)
        for path in ("/staff/tickets", "/staff/tickets/1", "/staff/logs", "/staff/guests/1", "/staff/logs?q=script"):
            async with http.get(base(app) + path) as response:
                page = await response.text()
            assert "<script>alert" not in page and "<img src=x" not in page, path
            assert "&lt;script&gt;" in page, path


async def test_reply_from_the_dashboard_reaches_a_web_guest_over_the_socket(app: Concierge) -> None:
    async with client() as http:
        await say(http, app, "guest-ws", "转人工，空调坏了")
        async with http.ws_connect(base(app) + "/ws?session=guest-ws") as socket:
            await login(http, app, AGENT)
            assert "工程师马上到 &lt;b&gt;" in await reply_on_ticket(http, app, 1, "工程师马上到 <b>")
            frame = json.loads((await socket.receive(timeout=5)).data)
            line_id = frame.pop("message_id")  # the page skips a line its history already showed
            assert frame == {"from": "staff", "staff_name": AGENT,  # the page shows who wrote
                             "replies": [{"text": "工程师马上到 <b>", "buttons": []}]}
        ticket = await _ticket(app, 1)
        assert ticket.status == "claimed" and ticket.first_response_at is not None
        async with app.db.read() as session:
            logged = (await session.execute(select(Message).where(Message.author.like("staff:%")))).scalar_one()  # type: ignore[attr-defined]
        assert logged.channel == "web" and logged.ticket_id == 1 and line_id == f"m{logged.id}"


async def test_reply_to_an_absent_web_guest_waits_until_they_come_back(app: Concierge) -> None:
    async with client() as http:
        await say(http, app, "away", "转人工")
        await login(http, app, AGENT)
        await reply_on_ticket(http, app, 1, "您好，还在吗？")
        await full_round(app.deliverer)  # the sender has looked at the queue since the reply was queued
        assert await _web_row(app) == ("pending", 0)  # no socket here: not even tried
        async with app.db.write() as session:  # a minute passes with the guest connected nowhere
            await session.execute(
                update(Outbox).where(Outbox.channel == "web").values(next_attempt_at=utcnow() - timedelta(minutes=2))  # type: ignore[arg-type]
            )
        await app.deliverer.recover()
        assert await _web_row(app) == ("held", 0)  # parked: out of every claim's scan and of the outbox lag
        async with http.ws_connect(base(app) + "/ws?session=away") as socket:
            frame = json.loads((await socket.receive(timeout=5)).data)
        assert frame["replies"][0]["text"] == "您好，还在吗？"


async def test_without_telegram_staff_alerts_leave_the_queue(app: Concierge) -> None:
    """A web-only hotel has no staff chat: once nobody has claimed an alert for a minute it is held (the
    dashboard lists the ticket) instead of waiting forever in the queue, where it would grow the outbox
    lag gauge and every claim's scan. A worker with Telegram on the same database would have sent it."""
    async with client() as http:
        await say(http, app, "web-only", "转人工")
        await full_round(app.deliverer)  # the sender has been round since the alert was queued
        await app.deliverer.recover()
        assert await _staff_rows(app) == [("pending", 0)]  # not yet: a worker with Telegram may claim it
        async with app.db.write() as session:  # a minute passes
            await session.execute(
                update(Outbox).where(Outbox.channel == "staff").values(next_attempt_at=utcnow() - timedelta(minutes=2))  # type: ignore[arg-type]
            )
        await app.deliverer.recover()
        assert await _staff_rows(app) == [("held", 0)]
        async with http.get(base(app) + "/metrics") as response:
            metrics = await response.text()
    assert "concierge_outbox_lag_seconds 0.0" in metrics


async def _staff_rows(app: Concierge) -> list[tuple[str, int]]:
    async with app.db.read() as session:
        rows = (await session.execute(select(Outbox).where(Outbox.channel == "staff"))).scalars().all()
    return [(row.status, row.attempts) for row in rows]


async def test_claim_reassign_resolve_with_root_cause_and_timeline(app: Concierge) -> None:
    async with client() as http:
        await say(http, app, "g1", "转人工")
        await login(http, app, MANAGER)
        async with http.get(base(app) + "/staff/tickets/1") as response:
            token = csrf_of(await response.text())
        async with http.post(base(app) + "/staff/tickets/1/claim", data={"csrf": token}):
            pass
        async with app.db.read() as session:
            from crm.staff import find_by_name

            agent = await find_by_name(session, AGENT)
        assert agent is not None
        async with http.post(base(app) + "/staff/tickets/1/reassign", data={"csrf": token, "assignee": str(agent.id)}):
            pass
        assert (await _ticket(app, 1)).assignee_id == agent.id
        async with http.post(base(app) + "/staff/tickets/1/resolve", data={"csrf": token, "root_cause": "前台交接遗漏"}) as response:
            page = await response.text()
        ticket = await _ticket(app, 1)
        assert ticket.status == "resolved" and ticket.root_cause == "前台交接遗漏"
        assert "前台交接遗漏" in page and "reassigned" not in page  # events are worded, not codes
        async with http.post(base(app) + "/staff/tickets/1/resolve", data={"csrf": token}) as response:
            assert response.status == 409


async def test_agent_filters_and_sla_countdown(app: Concierge) -> None:
    async with client() as http:
        await say(http, app, "g1", "转人工")
        await say(http, app, "g2", "房间1208的马桶堵了")  # maintenance
        await login(http, app, MANAGER)
        async with http.get(base(app) + "/staff/tickets?department=maintenance") as response:
            page = await response.text()
        assert 'href="/staff/tickets/2"' in page and 'href="/staff/tickets/1"' not in page
        assert 'data-due="' in page and "分钟" in page
        async with http.get(base(app) + "/staff/tickets?status=resolved") as response:
            assert 'href="/staff/tickets/' not in await response.text()


async def test_search_finds_chinese_and_english_conversations(app: Concierge) -> None:
    async with client() as http:
        await say(http, app, "zh", "房间里的空调一直滴水，能派人来看看吗")
        await say(http, app, "hant", "請問早餐幾點開始")
        await say(http, app, "en", "Could you bring two extra towels")
        await login(http, app, MANAGER)

        async def search(query: str) -> str:
            async with http.get(base(app) + "/staff/logs", params={"q": query}) as response:
                assert response.status == 200
                page = await response.text()
            return page.split("<tbody>", 1)[1]

        found = await search("空调")
        assert "空调一直滴水" in found and "towels" not in found and "早餐" not in found
        assert "早餐幾點" in await search("早餐")  # Traditional text, Simplified query
        found = await search("towel")
        assert "extra towels" in found and "空调" not in found
        assert "空调一直滴水" in await search("空调 滴水")
        assert "暂无内容" in await search("没有这句话")


async def test_guest_profile_is_audited(app: Concierge) -> None:
    async with client() as http:
        await say(http, app, "g1", "转人工")
        await login(http, app, AGENT)
        async with http.get(base(app) + "/staff/guests/1") as response:
            assert response.status == 200
            page = await response.text()
        assert "转人工" in page
    async with app.db.read() as session:
        audit = (await session.execute(select(AuditLog).where(AuditLog.action == "guest.view"))).scalars().all()
    assert [(a.target) for a in audit] == ["guest:1"]


async def test_reports_draw_svg_and_exports_are_safe_csv(app: Concierge) -> None:
    async with client() as http:
        await say(http, app, "g1", "=HYPERLINK(\"http://evil\") 转人工")
        await say(http, app, "g2", "太失望了，投诉！房间又脏又吵")
        async with app.db.write() as session:
            session.add(Survey(guest_id=1, csat=5, nps=10))
            session.add(Survey(guest_id=2, csat=2, nps=3))
        await login(http, app, MANAGER)
        async with http.get(base(app) + "/staff/reports") as response:
            page = await response.text()
        assert page.count("<svg class=\"chart\"") == 7 and "http://" not in page.replace("http://www.w3.org/2000/svg", "")
        assert "CSAT" in page and "NPS" in page
        async with http.get(base(app) + "/staff/export/tickets.csv") as response:
            assert response.headers["Content-Type"].startswith("text/csv")
            body = (await response.read()).decode("utf-8")
        assert body.startswith("\ufeffid,created_at")
        assert "'=HYPERLINK" in body and "\n=HYPERLINK" not in body and ",=HYPERLINK" not in body
        async with http.get(base(app) + "/staff/export/conversations.csv") as response:
            body = (await response.read()).decode("utf-8")
        assert "又脏又吵" in body


async def test_admin_adds_a_user_who_can_then_log_in(app: Concierge) -> None:
    async with client() as http:
        await login(http, app, ADMIN)
        async with http.get(base(app) + "/staff/users") as response:
            token = csrf_of(await response.text())
        data = {"csrf": token, "name": "new.agent", "role": "agent", "department": "housekeeping", "password": "long enough pw"}
        async with http.post(base(app) + "/staff/users", data=data) as response:
            assert response.status == 200 and "new.agent" in await response.text()
        async with http.post(base(app) + "/staff/users", data={**data, "password": "short"}) as response:
            assert response.status == 400
    async with client() as http:
        assert (await login(http, app, "new.agent", "long enough pw")).status == 303


async def test_logout_ends_the_session(app: Concierge) -> None:
    async with client() as http:
        await login(http, app, AGENT)
        async with http.get(base(app) + "/staff/tickets") as response:
            token = csrf_of(await response.text())
        cookie = http.cookie_jar.filter_cookies(aiohttp.client.URL(base(app) + "/staff/"))["concierge_staff"].value
        async with http.post(base(app) + "/staff/logout", data={"csrf": token}, allow_redirects=False) as response:
            assert response.status == 303
    async with client() as http:  # the old cookie no longer works
        http.cookie_jar.update_cookies({"concierge_staff": cookie}, aiohttp.client.URL(base(app) + "/staff/"))
        async with http.get(base(app) + "/staff/tickets", allow_redirects=False) as response:
            assert response.status == 303


async def test_a_staff_reply_reaches_a_web_guest_connected_to_another_worker(
    app: Concierge, make_settings: SettingsFactory, analyzer: Analyzer
) -> None:
    """Behind a load balancer the guest's socket is on one worker and the agent's dashboard on another:
    the worker that holds the socket delivers, the other leaves the row alone (it used to claim it, find no
    socket and put it on hold until the guest reconnected)."""
    dashboard = Concierge(make_settings(), analyzer=analyzer, worker=True)
    await dashboard.start()
    try:
        async with client() as http:
            await say(http, app, "two-workers", "转人工")
            async with http.ws_connect(base(app) + "/ws?session=two-workers") as socket:
                await login(http, dashboard, AGENT)
                await reply_on_ticket(http, dashboard, 1, "您好，我是前台李娜")
                frame = json.loads((await socket.receive(timeout=5)).data)
        assert frame["replies"][0]["text"] == "您好，我是前台李娜"
        assert await _web_row(app, settled=True) == ("sent", 1)
    finally:
        await dashboard.stop()


async def test_an_export_larger_than_a_batch_has_every_row_once_and_is_audited(
    app: Concierge, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reports, "EXPORT_BATCH", 2)  # 5 tickets and their messages span several batches
    async with client() as http:
        for n in range(5):
            await say(http, app, f"batch-{n}", f"送两条毛巾到 12{n:02d} 房")
        await login(http, app, MANAGER)
        async with http.get(base(app) + "/staff/export/tickets.csv") as response:
            assert 'filename="tickets-' in response.headers["Content-Disposition"]
            rows = list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig"))))
        async with http.get(base(app) + "/staff/export/conversations.csv") as response:
            lines = list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig"))))
    ids = [row[0] for row in rows[1:]]
    assert rows[0][0] == "id" and len(ids) == 5 and len(set(ids)) == 5
    guest_lines = [line for line in lines[1:] if "送两条毛巾" in line[-1]]
    assert len(guest_lines) == 5 and len({line[0] for line in lines[1:]}) == len(lines) - 1
    async with app.db.read() as session:
        audited = (await session.execute(select(AuditLog.target).where(AuditLog.action == "export"))).scalars().all()
    assert sorted(audited) == ["conversations", "tickets"]


async def test_an_agent_sees_only_their_departments_part_of_a_guest(app: Concierge) -> None:
    async with client() as http:
        await say(http, app, "two-desks", "请送一份炒饭到1208房间")  # food & beverage
        await say(http, app, "two-desks", "早餐几点开始")  # an FAQ: no ticket, no department's business
        await say(http, app, "two-desks", "我要投诉，前台的账单多收了我两晚房费")  # not food & beverage
        async with app.db.read() as session:
            tickets = (await session.execute(select(Ticket).order_by(Ticket.id))).scalars().all()
        assert [t.department for t in tickets][0] == "food_beverage" and len({t.department for t in tickets}) == 2
        guest_id = tickets[0].guest_id
        await login(http, app, CHEF)
        async with http.get(base(app) + f"/staff/guests/{guest_id}") as response:
            assert response.status == 200
            page = await response.text()
        assert "炒饭" in page and f'href="/staff/tickets/{tickets[0].id}"' in page
        assert "多收" not in page and "早餐几点" not in page and f'href="/staff/tickets/{tickets[1].id}"' not in page
    async with client() as http:
        await login(http, app, MANAGER)
        async with http.get(base(app) + f"/staff/guests/{guest_id}") as response:
            page = await response.text()
        assert "炒饭" in page and "多收" in page and "早餐几点" in page
