"""Two workers on one database behind one webhook: every update answered once, every guest greeted once,
one scheduler leader with fail-over."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from datetime import date, timedelta

import aiohttp
import pytest
from sqlalchemy import text
from sqlmodel import select

from bot.app import Concierge
from bot.bench.fake_bot_api import FakeBotApi
from bot.channels.telegram.intake import SECRET_HEADER, WEBHOOK_PATH
from crm.db import Database
from crm.migrate import upgrade
from crm.models import Outbox
from crm.outbox import recover_expired_leases
from crm.types import utcnow
from nlp import Analyzer
from tests.campaign_worker import shift_to
from tests.conftest import POSTGRES, SettingsFactory
from tests.lifecycle_helpers import add_guest, hotel_time
from tests.quiescence import settle

SECRET = "workers-secret"


def _update(update_id: int, chat: int, text: str) -> dict:
    return {"update_id": update_id, "message": {"message_id": update_id, "date": 0, "text": text,
            "chat": {"id": chat, "type": "private"}, "from": {"id": chat, "is_bot": False, "first_name": "W"}}}


async def test_two_workers_answer_once_and_greet_once(
    make_settings: SettingsFactory, analyzer: Analyzer, telegram_env: dict[str, str], fake_api: FakeBotApi
) -> None:
    settings = make_settings(**telegram_env, CONCIERGE_TELEGRAM_WEBHOOK_URL="https://hotel.example/telegram/webhook",
                             CONCIERGE_TELEGRAM_WEBHOOK_SECRET=SECRET)
    primary = Concierge(settings, analyzer=analyzer)
    extra = Concierge(settings, analyzer=analyzer, worker=True)
    await primary.start()
    await extra.start()
    try:
        async with primary.db.write() as session:
            for n in range(30):
                await add_guest(session, chat=80_000 + n, name=f"Guest{n}")
        questions = ["早餐几点？", "wifi password", "停车场在哪"]
        updates = [_update(1000 + i, 90_000 + i % 20, questions[i // 20]) for i in range(60)]
        ports = [primary.port, extra.port]
        rng = random.Random(7)
        async with aiohttp.ClientSession() as client:
            async def post(update: dict, port: int) -> None:
                url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
                async with client.post(url, json=update, headers={SECRET_HEADER: SECRET}) as response:
                    assert response.status == 200
            # A load balancer spreads updates; Telegram re-delivers some of them, possibly to the other worker.
            deliveries = [(u, rng.choice(ports)) for u in updates] + [(u, rng.choice(ports)) for u in updates[::3]]
            rng.shuffle(deliveries)
            for batch in range(0, len(deliveries), 10):
                await asyncio.gather(*(post(update, port) for update, port in deliveries[batch:batch + 10]))
        at = hotel_time(date(2026, 10, 1), 10, 5)
        for worker in (primary, extra):  # sent on National Day (quiet hours and expiry are checked at send time)
            worker.deliverer.time_shift = shift_to(at)
        await asyncio.gather(primary.scheduler.service.run_job("holiday", at),
                             extra.scheduler.service.run_job("holiday", at))
        await fake_api.wait_for(lambda: len(fake_api.sent) >= 60 + 30, timeout=60)
        await settle(primary, extra, fake=fake_api)  # both workers idle: nothing left to send twice
    finally:
        await extra.stop()
        await primary.stop()
    replies = Counter(m.chat_id for m in fake_api.sent if 90_000 <= m.chat_id < 90_020)
    greetings = Counter(m.chat_id for m in fake_api.sent if 80_000 <= m.chat_id < 80_030)
    assert replies == {90_000 + i: 3 for i in range(20)}
    assert greetings == {80_000 + n: 1 for n in range(30)}


async def test_one_scheduler_leader_and_fail_over(make_settings: SettingsFactory, analyzer: Analyzer) -> None:
    settings = make_settings()
    first = Concierge(settings, analyzer=analyzer)
    second = Concierge(settings, analyzer=analyzer, worker=True)
    await first.prepare_store()
    first.scheduler.retry_seconds = second.scheduler.retry_seconds = 0.2
    await first.scheduler.start()
    await second.scheduler.start()
    try:
        assert first.scheduler.leading and not second.scheduler.leading
        await first.scheduler.stop()  # the leader goes away (its lock with it)
        for _ in range(50):
            if second.scheduler.leading:
                break
            await asyncio.sleep(0.1)
        assert second.scheduler.leading
    finally:
        await second.scheduler.stop()
        await first.db.dispose()
        await second.db.dispose()


@pytest.mark.skipif(not POSTGRES, reason="PostgreSQL's row locks; on SQLite one writer recovers at a time")
async def test_two_workers_recovering_leases_report_each_uncertain_send_once(make_settings: SettingsFactory) -> None:
    """Two workers start together after a crash left campaign sends in flight: each uncertain send is
    reported to staff by exactly one of them (two notices would have staff check a guest twice, or
    suspect a second greeting), and every one ends ``unknown``, never resent."""
    url = make_settings().database_url
    first, second = Database(url), Database(url)  # separate engines, like separate worker processes
    try:
        await upgrade(first)
        expired = utcnow() - timedelta(minutes=1)
        async with first.write() as session:
            rows = [Outbox(channel="telegram", chat_id=str(9000 + n), kind="campaign", text=f"Happy holidays {n}",
                           status="inflight", next_attempt_at=expired) for n in range(40)]
            session.add_all(rows)
        everything = {row.id for row in rows}
        async with first.read() as session, second.read() as other:  # both pools connected before the race
            await session.execute(text("SELECT 1"))
            await other.execute(text("SELECT 1"))
        # Hold the table until both recoveries wait for it, so they run at the same moment, not one after the other
        async with first.engine.connect() as holder:
            await holder.execute(text("LOCK TABLE outbox IN EXCLUSIVE MODE"))
            both = asyncio.gather(recover_expired_leases(first), recover_expired_leases(second))
            deadline = time.monotonic() + 10
            waiting = 0
            while waiting < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
                waiting = (await holder.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
                ))).scalar_one()
            assert waiting == 2, "both recoveries should be waiting for the table"
            await holder.commit()
            reported_first, reported_second = await both
        async with first.read() as session:
            statuses = Counter((await session.execute(select(Outbox.status))).scalars())
    finally:
        await first.dispose()
        await second.dispose()
    ids_first = [row.id for row in reported_first]
    ids_second = [row.id for row in reported_second]
    assert not set(ids_first) & set(ids_second), "a send reported by both workers"
    assert sorted(ids_first + ids_second) == sorted(everything)  # each reported once, none forgotten
    assert statuses == {"unknown": 40}
