"""Engine and transaction scopes.

SQLite is the default store and must not lose a concurrent update: pysqlite's own transaction handling
starts transactions lazily (a read-then-write can be overtaken by another writer), so we switch it off
and issue ``BEGIN`` ourselves — ``BEGIN IMMEDIATE`` for transactions that read then write, which takes
the write lock up front and waits (busy timeout) instead of failing later with "database is locked".
On PostgreSQL the same scopes are plain transactions and row locks do the work.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

BUSY_TIMEOUT_MS = 15_000


def _install_sqlite_hooks(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


class WriteTurn:
    """A lock with two queues: urgent waiters are served before normal ones, each queue in order."""

    def __init__(self) -> None:
        self._held = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._normal: deque[asyncio.Future[None]] = deque()

    @asynccontextmanager
    async def turn(self, urgent: bool = False) -> AsyncIterator[None]:
        if self._held:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            queue = self._urgent if urgent else self._normal
            queue.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._release()  # the turn was handed to us as we were cancelled: pass it on
                elif waiter in queue:
                    queue.remove(waiter)
                raise
        else:
            self._held = True
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        for queue in (self._urgent, self._normal):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # the turn passes straight on; _held stays True
                    return
        self._held = False


class Database:
    """Owns the async engine; hands out read and write transaction scopes."""

    def __init__(self, url: str, echo: bool = False) -> None:
        self.url = url
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite and parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": BUSY_TIMEOUT_MS / 1000}
            kwargs["poolclass"] = NullPool if parsed.database in (None, "", ":memory:") else None
            if kwargs["poolclass"] is None:
                del kwargs["poolclass"]
        else:
            kwargs["pool_size"] = 10
            kwargs["max_overflow"] = 20
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            _install_sqlite_hooks(self.engine)
        self._write_turn = WriteTurn()

    @asynccontextmanager
    async def _scope(self, mode: str, urgent: bool = False) -> AsyncIterator[AsyncSession]:
        if self.is_sqlite and mode == "IMMEDIATE":
            # SQLite has one writer at a time anyway. Queueing our own writers here, instead of letting
            # them collide in BEGIN IMMEDIATE, spares SQLite's busy handler, which sleeps in steps of up
            # to 100 ms and left the event loop idle under load. Other processes still meet the busy timeout.
            async with self._write_turn.turn(urgent):
                async with self._session(mode) as session:
                    yield session
        else:
            async with self._session(mode) as session:
                yield session

    @asynccontextmanager
    async def _session(self, mode: str) -> AsyncIterator[AsyncSession]:
        async with self.engine.connect() as raw:
            connection: AsyncConnection = raw
            if self.is_sqlite:
                connection = await raw.execution_options(sqlite_begin=mode)
            async with AsyncSession(bind=connection, expire_on_commit=False) as session:
                async with session.begin():
                    yield session

    def write(self, *, urgent: bool = False) -> Any:
        """A transaction that may read then write (``BEGIN IMMEDIATE`` on SQLite); commits on exit.
        ``urgent`` writes (a message about to leave) go before queued guest turns."""
        return self._scope("IMMEDIATE", urgent)

    def read(self) -> Any:
        """A read-only transaction; never blocks writers under WAL."""
        return self._scope("DEFERRED")

    async def dispose(self) -> None:
        await self.engine.dispose()
