"""The conversation search index keeps up with the log even when lines commit out of id order."""

from __future__ import annotations

import aiohttp
from sqlmodel import select

from bot.app import Concierge
from crm.messages import add_line
from crm.models import Guest, Message
from crm.search import index_pending, match_clause


async def _found(app: Concierge, query: str) -> list[str]:
    clause = match_clause(app.analyzer.search_tokens, query)
    assert clause is not None
    async with app.db.read() as session:
        return list((await session.execute(select(Message.text).where(clause))).scalars())


async def test_a_line_committed_after_a_higher_id_was_indexed_is_still_found(web_bot: Concierge) -> None:
    """On PostgreSQL ids come from a sequence when the INSERT runs, not when its transaction commits: a slow
    turn's line can become visible after a later line was indexed. Simulated with explicit ids."""
    async with aiohttp.ClientSession() as http:
        await http.post(f"http://127.0.0.1:{web_bot.port}/api/chat", json={"session": "s1", "text": "早餐几点"})
    async with web_bot.db.read() as session:
        guest_id = (await session.execute(select(Guest.id))).scalar_one()
    tokens = web_bot.analyzer.search_tokens
    async with web_bot.db.write() as session:
        await add_line(session, id=1000, guest_id=guest_id, channel="web", direction="in", text="towels please")
    await index_pending(web_bot.db, tokens)
    async with web_bot.db.write() as session:  # the slower transaction commits now, with the lower id
        await add_line(session, id=990, guest_id=guest_id, channel="web", direction="in", text="空调一直滴水")
    await index_pending(web_bot.db, tokens)
    assert await _found(web_bot, "滴水 空调") == ["空调一直滴水"]  # by its terms, not verbatim
    assert await _found(web_bot, "please towels") == ["towels please"]
    assert await index_pending(web_bot.db, tokens) == 0  # nothing is indexed twice
