"""``concierge bench store``: what one transaction and one statement cost through our data layer
(SQLAlchemy's asyncio session, as every guest turn uses it) against the same SQL through bare sqlite3.

It explains ``bench telegram``: a guest turn is one transaction of about seven statements; SQLite's own
work for it is a small fraction of what the layer around it costs.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, update

from crm.db import Database
from crm.migrate import upgrade
from crm.models import Guest

_SET_LANGUAGE = update(Guest).where(Guest.id == bindparam("guest")).values(language=bindparam("language"))


def add_bench_store(bench_subparsers: Any) -> None:
    bench = bench_subparsers.add_parser("store", help="cost of a transaction and a statement: our layer vs bare sqlite3")
    bench.add_argument("--count", type=int, default=3000, help="transactions per measurement")
    bench.add_argument("--rounds", type=int, default=3)
    bench.set_defaults(func=lambda args: asyncio.run(run(args)))


def _raw(path: Path, count: int, statements: int) -> float:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    started = time.perf_counter()
    for index in range(count):
        connection.execute("BEGIN IMMEDIATE")
        for _ in range(statements):
            connection.execute("UPDATE guest SET language = ? WHERE id = ?", ("en" if index % 2 else "zh-Hans", 1))
        connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed / count


async def _ours(db: Database, count: int, statements: int) -> float:
    started = time.perf_counter()
    for index in range(count):
        async with db.write(short=True) as session:
            connection = await session.connection()
            for _ in range(statements):
                await connection.execute(_SET_LANGUAGE, {"guest": 1, "language": "en" if index % 2 else "zh-Hans"})
    return (time.perf_counter() - started) / count


async def _median(rounds: int, measure: Callable[[], Awaitable[float]]) -> float:
    return statistics.median([await measure() for _ in range(rounds)])


async def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="concierge-bench-") as tmp:
        path = Path(tmp) / "bench.db"
        db = Database(f"sqlite+aiosqlite:///{path}")
        try:
            await upgrade(db)
            async with db.write() as session:
                session.add(Guest(name="Bench", language="zh-Hans"))
            print(f"concierge bench store — SQLite (WAL, synchronous=NORMAL), {args.count} transactions × {args.rounds} rounds")
            figures: dict[tuple[str, int], float] = {}
            for statements in (0, 1, 7):
                raw = await _median(args.rounds, lambda n=statements: asyncio.to_thread(_raw, path, args.count, n))
                ours = await _median(args.rounds, lambda n=statements: _ours(db, args.count, n))
                figures[("raw", statements)], figures[("ours", statements)] = raw, ours
                print(f"  transaction with {statements} UPDATE(s): bare sqlite3 {1e6 * raw:7.1f} µs, "
                      f"our session (SQLAlchemy asyncio) {1e6 * ours:7.1f} µs  ({ours / raw:.0f}×)")
            per_statement = (figures[("ours", 7)] - figures[("ours", 0)]) / 7
            print(f"  per statement in our layer: {1e6 * per_statement:.0f} µs; "
                  f"per transaction (begin, commit, session): {1e6 * figures[('ours', 0)]:.0f} µs")
        finally:
            await db.dispose()
    return 0
