"""Issue 15, dashboard polish: no raw codes, pressed buttons read as their labels, a ticket page opens at
the ticket's part of the conversation with earlier history folded, guests ("G1") told apart from tickets."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date

import pytest

from bot.app import Concierge
from crm.models import Booking
from tests.flow_helpers import WebGuest
from tests.staff_helpers import MANAGER, add_team, base, client, login, reply_on_ticket


@pytest.fixture
async def app(web_bot: Concierge) -> AsyncIterator[Concierge]:
    await add_team(web_bot)
    yield web_bot


def _visible(page: str) -> str:
    """The page's text as a reader sees it (tags and attribute values gone)."""
    body = page.split("<main>", 1)[1]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


async def test_pages_show_words_not_codes(app: Concierge) -> None:
    async with client() as http:
        guest = WebGuest(app, http, "polish")
        await guest.say("早餐几点")
        await guest.say("asdf qwer")  # unclear: offered a person
        await guest.press("handoff")  # logged as "[handoff]"
        async with app.db.write() as session:
            session.add(Booking(reference="CR1234", guest_id=1, room_type="twin", check_in=date(2026, 12, 20),
                                check_out=date(2026, 12, 22), status="confirmed"))
        await login(http, app, MANAGER)
        await reply_on_ticket(http, app, 1, "您好")
        await guest.say("好的")
        async with http.get(base(app) + "/staff/tickets/1") as response:
            ticket_page = await response.text()
        async with http.get(base(app) + "/staff/guests/1") as response:
            guest_page = _visible(await response.text())
        async with http.get(base(app) + "/staff/logs") as response:
            logs_page = _visible(await response.text())

    earlier, _, current = ticket_page.partition("</details>")
    assert '<details class="earlier">' in earlier and "早餐几点" in earlier and "更早的对话" in earlier
    assert "早餐几点" not in current and "▸ 点击了“联系人工”" in current  # opens at the ticket's part
    shown = _visible(ticket_page)
    assert "[handoff]" not in shown and "▸ 点击了“联系人工”" in shown
    for code in (" web ", "neutral", "negative", "guest_wrote", "escalated", "replied", "zh-Hans"):
        assert code not in shown, code
    assert "网页聊天" in shown and "客人来信" in shown and "客人要求人工服务" in shown
    assert "guest asked for a person" not in shown

    assert "高级双床房" in guest_page
    assert " twin " not in guest_page and " confirmed " not in guest_page and "已确认" in guest_page
    assert "简体中文" in guest_page and " member " not in guest_page and "G1" in guest_page
    assert " web " not in logs_page and "G1" in logs_page and "#1" in logs_page  # the guest G1, the ticket #1
    assert "[handoff]" not in logs_page
