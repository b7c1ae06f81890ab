"""``concierge bench memory``: resident size of ``concierge run`` over a large store.

Seeds a temporary SQLite store with N guests (default 100 000) and M messages (default 1 000 000) —
directly through SQLAlchemy Core, in chunks — then starts ``concierge run`` on it, chats a little so
guests, messages and the analyser are all touched, and reads the process's VmRSS. Goal < 250 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import create_engine, insert

from bot.bench.server import MESSAGES, free_port, rss_mb, spawn, stop, wait_healthy
from bot.config import load_settings
from crm.db import Database
from crm.migrate import upgrade
from crm.models import ChannelIdentity, Guest, Message

CHUNK = 50_000


def add_bench_memory(bench_subparsers: Any) -> None:
    bench = bench_subparsers.add_parser("memory", help="resident size with a large store (100k guests, 1M messages)")
    bench.add_argument("--guests", type=int, default=100_000)
    bench.add_argument("--messages", type=int, default=1_000_000)
    bench.set_defaults(func=lambda args: asyncio.run(run(args)))


def _seed(database_file: Path, guests: int, messages: int) -> None:
    engine = create_engine(f"sqlite:///{database_file}")
    start = datetime(2025, 1, 1, tzinfo=UTC)
    with engine.begin() as connection:
        for first in range(0, guests, CHUNK):
            rows = range(first + 1, min(guests, first + CHUNK) + 1)
            connection.execute(insert(Guest), [
                {"id": n, "name": f"Guest {n}", "language": "zh-Hans", "created_at": start} for n in rows
            ])
            connection.execute(insert(ChannelIdentity), [
                {"channel": "web", "external_id": f"seed{n}", "chat_id": f"seed{n}", "guest_id": n, "created_at": start}
                for n in rows
            ])
        for first in range(0, messages, CHUNK):
            connection.execute(insert(Message), [
                {"guest_id": 1 + n % guests, "channel": "web", "direction": "in" if n % 2 == 0 else "out",
                 "text": MESSAGES[n % len(MESSAGES)], "category": "faq", "analysis": {},
                 "created_at": start + timedelta(seconds=n)}
                for n in range(first, min(messages, first + CHUNK))
            ])
    engine.dispose()


async def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="concierge-bench-") as tmp:
        data_dir = Path(tmp)
        settings = load_settings(args.config, env={"CONCIERGE_DATA_DIR": tmp})
        database = Database(settings.database_url)
        await upgrade(database)
        await database.dispose()
        started = time.perf_counter()
        await asyncio.to_thread(_seed, data_dir / "concierge.db", args.guests, args.messages)
        seeded = time.perf_counter() - started
        size = (data_dir / "concierge.db").stat().st_size / 2**20
        port = free_port()
        process = spawn(args.config, data_dir, port)
        try:
            await wait_healthy(port, process, timeout=120)
            idle = rss_mb(process.pid)
            async with aiohttp.ClientSession() as client:
                for n in range(200):
                    body = {"session": f"seed{1 + (n * 499) % args.guests}", "text": MESSAGES[n % len(MESSAGES)]}
                    async with client.post(f"http://127.0.0.1:{port}/api/chat", json=body) as response:
                        await response.read()
            busy = rss_mb(process.pid)
        finally:
            stop(process)
    print(f"concierge bench memory — {args.guests} guests, {args.messages} messages, SQLite file {size:.0f} MB "
          f"(seeded in {seeded:.0f} s)")
    print(f"  resident size: {idle:.0f} MB after start-up, {busy:.0f} MB after 200 chats with seeded guests "
          "(goal < 250 MB)")
    return 0
