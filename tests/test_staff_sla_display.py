"""Issue 15: the queue and the ticket page show both deadlines, consistently; a reopened ticket reads as
running again (not "open · lily · within SLA")."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import update

from bot.app import Concierge
from crm.models import Ticket
from crm.types import utcnow
from tests.flow_helpers import WebGuest
from tests.staff_helpers import MANAGER, add_team, base, client, csrf_of, login


@pytest.fixture
async def app(web_bot: Concierge) -> AsyncIterator[Concierge]:
    await add_team(web_bot)
    yield web_bot


def _slas(page: str) -> list[str]:
    """The text of each deadline shown ("首次响应 已超时 10 分钟"), tags stripped."""
    parts = re.findall(r'<span class="sla-part">(.*?)</span></span>|<span class="sla-part">(.*?)</span>\n', page, re.S)
    return [re.sub(r"<[^>]+>", "", a or b).strip() for a, b in parts]


async def test_queue_and_ticket_page_show_both_deadlines_the_same_way(app: Concierge) -> None:
    async with client() as http:
        await WebGuest(app, http, "late").say("我的账单多收了一晚")  # billing: respond 15, resolve 120
        async with app.db.write() as session:
            await session.execute(update(Ticket).values(respond_due=utcnow() - timedelta(minutes=10, seconds=30)))
        await login(http, app, MANAGER)
        async with http.get(base(app) + "/staff/tickets") as response:
            queue = _slas(await response.text())
        async with http.get(base(app) + "/staff/tickets/1") as response:
            ticket = _slas(await response.text())
    assert queue == ticket
    assert queue[0].startswith("首次响应") and "已超时" in queue[0]
    assert queue[1].startswith("解决时限") and "剩余" in queue[1]


async def test_a_reopened_ticket_is_running_again_with_its_owner(app: Concierge) -> None:
    async with client() as http:
        guest = WebGuest(app, http, "reopen")
        await guest.say("房间 1503 隔壁太吵了，一晚上没睡好，太失望了")
        await login(http, app, MANAGER)
        async with http.get(base(app) + "/staff/tickets/1") as response:
            token = csrf_of(await response.text())
        async with http.post(base(app) + "/staff/tickets/1/claim", data={"csrf": token}):
            pass
        async with http.post(base(app) + "/staff/tickets/1/resolve", data={"csrf": token}):
            pass
        await guest.press_anyway("fu:1:no")  # the follow-up's "not solved"
        async with http.get(base(app) + "/staff/tickets") as response:
            page = await response.text()
    row = page.split('href="/staff/tickets/1"', 1)[1].split("</li>", 1)[0]
    assert "处理中" in row and MANAGER in row  # claimed by whoever had it, not "待认领 · wang.jl"
    first, resolution = _slas(row + "\n")
    assert "按时完成" in first and resolution.startswith("解决时限 剩余")  # resolution is running again
