"""The store: restart keeps everything; concurrent read-then-write transactions lose nothing."""

from __future__ import annotations

import asyncio
import gc
import sqlite3
import warnings
from datetime import timedelta

import aiohttp
import pytest
from sqlalchemy.engine import make_url
from sqlmodel import select

from bot.app import Concierge
from crm.db import Database
from crm.migrate import upgrade
from crm.models import Guest, Message, Outbox, Ticket
from crm.outbox import park_unclaimed
from crm.types import utcnow
from nlp import Analyzer
from tests.conftest import SettingsFactory


async def test_restart_keeps_guests_tickets_and_messages(make_settings: SettingsFactory, analyzer: Analyzer) -> None:
    settings = make_settings()
    app = Concierge(settings, analyzer=analyzer)
    await app.start()
    url = f"http://127.0.0.1:{app.port}/api/chat"
    async with aiohttp.ClientSession() as client:
        async with client.post(url, json={"session": "keep", "text": "卫生间漏水了，房间 906"}) as response:
            assert "#1" in str(await response.json())
    await app.stop()

    again = Concierge(settings, analyzer=analyzer)
    await again.start()
    try:
        async with again.db.read() as session:
            assert len((await session.execute(select(Guest))).scalars().all()) == 1
            assert (await session.execute(select(Ticket.room_number))).scalar_one() == "906"
            assert len((await session.execute(select(Message))).scalars().all()) == 2
        async with aiohttp.ClientSession() as client:
            async with client.post(f"http://127.0.0.1:{again.port}/api/chat",
                                   json={"session": "keep", "text": "请再送一瓶水"}) as response:
                assert "#2" in str(await response.json())  # same guest, numbering continues
        async with again.db.read() as session:
            assert len((await session.execute(select(Guest))).scalars().all()) == 1
    finally:
        await again.stop()


async def test_concurrent_read_then_write_loses_no_update(make_settings: SettingsFactory) -> None:
    database = Database(make_settings().database_url)
    await upgrade(database)
    async with database.write() as session:
        guest = Guest(name="Counter")
        session.add(guest)
    others = [Database(database.url) for _ in range(3)]  # separate engines, like separate workers

    async def add_point(db: Database) -> None:
        async with db.write() as session:
            row = await session.get(Guest, guest.id, with_for_update=True)  # a row lock on PostgreSQL
            assert row is not None
            points = row.points
            await asyncio.sleep(0.001)  # widen the race window
            row.points = points + 1

    await asyncio.gather(*(add_point(others[i % 3]) for i in range(60)))
    async with database.read() as session:
        assert (await session.get(Guest, guest.id)).points == 60  # type: ignore[union-attr]
    for db in [database, *others]:
        await db.dispose()


async def test_a_short_write_waits_for_another_process_off_the_loop(make_settings: SettingsFactory) -> None:
    """Short transactions run on the loop's thread; when another process holds SQLite's write lock they
    must wait for it without freezing the loop (other guests' chats go on), and then commit."""
    database = Database(make_settings().database_url)
    if not database.is_sqlite:
        await database.dispose()
        pytest.skip("SQLite's single writer; PostgreSQL has row locks")
    await upgrade(database)
    path = make_url(database.url).database
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)  # "another process"
    other.execute("BEGIN IMMEDIATE")
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def write() -> None:
        async with database.write(short=True) as session:
            session.add(Guest(name="Waited"))

    ticking = asyncio.create_task(ticker())
    writing = asyncio.create_task(write())
    await asyncio.sleep(0.3)
    assert not writing.done() and ticks >= 10  # waiting, and the loop is free meanwhile
    other.execute("ROLLBACK")
    other.close()
    await asyncio.wait_for(writing, timeout=5)
    ticking.cancel()
    async with database.read(short=True) as session:
        assert [guest.name for guest in (await session.execute(select(Guest))).scalars()] == ["Waited"]
    await database.dispose()


async def test_a_write_cancelled_while_waiting_for_the_lock_gives_its_connection_back(
    make_settings: SettingsFactory,
) -> None:
    """Shutdown cancels turns that wait for another process's write lock; their connections must go back
    to the pool, not be left for the garbage collector."""
    database = Database(make_settings().database_url)
    if not database.is_sqlite:
        await database.dispose()
        pytest.skip("SQLite's single writer; PostgreSQL has row locks")
    await upgrade(database)
    other = sqlite3.connect(make_url(database.url).database, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")

    async def write() -> None:
        async with database.write(short=True) as session:
            session.add(Guest(name="Never"))

    writing = asyncio.create_task(write())
    await asyncio.sleep(0.3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        writing.cancel()
        await asyncio.sleep(0.1)
        other.execute("ROLLBACK")  # the thread's BEGIN returns; the cancelled turn then closes its connection
        other.close()
        with pytest.raises(asyncio.CancelledError):
            await writing
        gc.collect()  # a connection nobody closed is found here, with an SAWarning
    assert database.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    assert not [w for w in caught if "non-checked-in connection" in str(w.message)]
    async with database.read() as session:
        assert (await session.execute(select(Guest))).scalars().all() == []
    await database.dispose()


async def test_web_rows_nobody_claims_are_parked_but_not_those_this_worker_can_push(
    make_settings: SettingsFactory,
) -> None:
    database = Database(make_settings().database_url)
    await upgrade(database)
    long_ago = utcnow() - timedelta(minutes=2)
    async with database.write() as session:
        for chat in ("here", "nowhere"):
            session.add(Outbox(channel="web", chat_id=chat, kind="staff", text="您好", next_attempt_at=long_ago))
        session.add(Outbox(channel="telegram", chat_id="1", kind="reply", text="hi", next_attempt_at=long_ago))
    parked = await park_unclaimed(database, "web", due_before=utcnow() - timedelta(minutes=1), reachable_here=["here"])
    async with database.read() as session:
        statuses = {(row.channel, row.chat_id): row.status for row in (await session.execute(select(Outbox))).scalars()}
    await database.dispose()
    assert parked == 1
    assert statuses == {("web", "here"): "pending", ("web", "nowhere"): "held", ("telegram", "1"): "pending"}
