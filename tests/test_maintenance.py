"""Backup and restore of the SQLite store, the retention purge, and logs that keep secrets out."""

from __future__ import annotations

import logging
from datetime import timedelta

import aiohttp
import pytest
from sqlmodel import select

from bot.app import Concierge
from bot.logs import RedactingFilter, mask
from crm.maintenance import backup, purge_messages, restore
from crm.models import Message, MessageTerm, Ticket
from crm.search import index_pending
from crm.types import utcnow
from nlp import Analyzer
from tests.conftest import POSTGRES, SettingsFactory

sqlite_only = pytest.mark.skipif(bool(POSTGRES), reason="SQLite online backup; PostgreSQL uses pg_dump")


async def _say(app: Concierge, session: str, text: str) -> None:
    async with aiohttp.ClientSession() as client:
        async with client.post(f"http://127.0.0.1:{app.port}/api/chat", json={"session": session, "text": text}) as r:
            assert r.status == 200


@sqlite_only
async def test_backup_while_running_and_restore(make_settings: SettingsFactory, analyzer: Analyzer) -> None:
    settings = make_settings()
    app = Concierge(settings, analyzer=analyzer)
    await app.start()
    await _say(app, "b1", "房间 1001 空调坏了")
    target = settings.data_dir / "backups" / "one.db"
    assert backup(settings.database_url, target) > 0  # online: the bot keeps running
    await _say(app, "b1", "再送两条毛巾")
    await app.stop()
    restore(settings.database_url, target)
    again = Concierge(settings, analyzer=analyzer)
    await again.start()
    try:
        async with again.db.read() as session:
            tickets = (await session.execute(select(Ticket.summary))).scalars().all()
        assert tickets == ["房间 1001 空调坏了"]  # the state at backup time
    finally:
        await again.stop()


async def test_purge_deletes_old_conversation_text_only(web_bot: Concierge) -> None:
    await _say(web_bot, "p1", "枕头太高了，房间 808")
    async with web_bot.db.write() as session:
        for message in (await session.execute(select(Message))).scalars():
            message.created_at = utcnow() - timedelta(days=400)
    await _say(web_bot, "p1", "早餐几点")
    assert await index_pending(web_bot.db, web_bot.analyzer.search_tokens) > 0  # as the dashboard's indexer does
    counts = await purge_messages(web_bot.db, utcnow() - timedelta(days=365))
    assert counts["messages"] == 2
    async with web_bot.db.read() as session:
        left = (await session.execute(select(Message.text))).scalars().all()
        tickets = (await session.execute(select(Ticket))).scalars().all()
        indexed = set((await session.execute(select(MessageTerm.message_id))).scalars())
        kept = set((await session.execute(select(Message.id))).scalars())
    assert "早餐几点" in left and "枕头太高了，房间 808" not in left
    assert indexed == kept  # the purged lines' index rows went with them; the kept ones stay searchable
    assert len(tickets) == 1  # statistics stay


def test_logs_mask_tokens_phones_and_emails(caplog: pytest.LogCaptureFixture) -> None:
    assert "13912345678" not in mask("call me on 13912345678")
    assert "+86 139 1234 5678" not in mask("phone +86 139 1234 5678 please")
    assert "guest@example.com" not in mask("mail guest@example.com")
    assert "110101199003071234" not in mask("ID 110101199003071234")
    assert "room 1208" in mask("room 1208")  # room numbers stay readable
    token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "POST https://api.telegram.org/bot%s/getMe", (token,), None)
    RedactingFilter((token,)).filter(record)
    assert token not in record.getMessage()


async def test_nightly_job_applies_the_retention_period(web_bot: Concierge) -> None:
    await _say(web_bot, "r1", "早餐几点")
    async with web_bot.db.write() as session:
        for message in (await session.execute(select(Message))).scalars():
            message.created_at = utcnow() - timedelta(days=web_bot.settings.retention.messages_days + 1)
    assert await index_pending(web_bot.db, web_bot.analyzer.search_tokens) == 2  # the indexer ran first
    summary = await web_bot.scheduler.service.run_job("nightly")
    assert "purged 2 messages" in summary
    async with web_bot.db.read() as session:
        assert (await session.execute(select(Message))).scalars().all() == []
