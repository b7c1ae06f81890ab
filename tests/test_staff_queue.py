"""The manager's queue after a flood (issue 13, item 6): paged, counts per state, and what is most
overdue and most severe first — a genuine complaint is on the first page, not behind a thousand hand-offs."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.app import Concierge
from crm.models import Guest, Ticket
from crm.types import utcnow
from tests.staff_helpers import MANAGER, add_team, base, client, login

FLOOD = 260


@pytest.fixture
async def flooded(web_bot: Concierge) -> AsyncIterator[Concierge]:
    await add_team(web_bot)
    now = utcnow()
    async with web_bot.db.write() as session:
        guest = Guest(name="Flood")
        session.add(guest)
        await session.flush()
        assert guest.id is not None
        session.add_all(Ticket(guest_id=guest.id, category="other", department="front_desk", priority="high",
                               channel="web", summary=f"hand-off {n}", respond_due=now + timedelta(minutes=10),
                               resolve_due=now + timedelta(minutes=30)) for n in range(FLOOD))
        session.add(Ticket(guest_id=guest.id, category="complaint", department="guest_relations", priority="high",
                           channel="web", summary="the genuine complaint", respond_due=now - timedelta(minutes=1),
                           resolve_due=now + timedelta(minutes=120)))
        session.add(Ticket(guest_id=guest.id, category="other", department="front_desk", priority="low",
                           channel="web", summary="done long ago", status="resolved"))
    yield web_bot


async def test_the_queue_is_paged_counted_and_puts_the_overdue_complaint_first(flooded: Concierge) -> None:
    async with client() as http:
        assert (await login(http, flooded, MANAGER)).status == 303
        async with http.get(base(flooded) + "/staff/lang?to=en") as response:
            assert response.status == 200
        async with http.get(base(flooded) + "/staff/tickets") as response:
            first = await response.text()
        assert "the genuine complaint" in first
        assert first.index("the genuine complaint") < first.index("hand-off ")  # overdue before due later
        assert len(re.findall(r'class="ticket"', first)) == 50
        assert re.search(r"Open\s*<b>261</b>", first) and re.search(r"Resolved\s*<b>1</b>", first)
        last_page = -(-(FLOOD + 1) // 50)
        assert f"page 1 of {last_page} ({FLOOD + 1} tickets)" in first
        async with http.get(base(flooded) + f"/staff/tickets?page={last_page}") as response:
            last = await response.text()
        assert len(re.findall(r'class="ticket"', last)) == (FLOOD + 1) % 50
        assert 'rel="prev"' in last and 'rel="next"' not in last
