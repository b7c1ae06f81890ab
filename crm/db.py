"""Engine and transaction scopes.

SQLite is the default store and must not lose a concurrent update: pysqlite's own transaction handling
starts transactions lazily (a read-then-write can be overtaken by another writer), so we switch it off
and issue ``BEGIN`` ourselves — ``BEGIN IMMEDIATE`` for transactions that read then write, which takes
the write lock up front and waits (busy timeout) instead of failing later with "database is locked".
On PostgreSQL the same scopes are plain transactions and row locks do the work.

Short transactions (a guest turn, an outbox mark: a handful of rows) run on SQLite on the event loop's own
thread (``short=True``). aiosqlite hops to its thread and back for every statement; between the hops the
loop runs other tasks while the turn holds SQLite's only write lock, and that capped a busy bot at about
50 turns a second. A statement on a few rows takes tens of microseconds, less than the hop itself.
Anything that may touch many rows (campaigns, purges, reports) keeps the threaded path.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import deque
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

BUSY_TIMEOUT_MS = 15_000


class _OnLoopConnection(aiosqlite.Connection):
    """aiosqlite's interface with every call run on the calling thread (see the module docstring)."""

    async def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    async def _connect(self) -> aiosqlite.Connection:
        if self._connection is None:
            self._connection = self._connector()
        return self

    def __await__(self) -> Any:  # no worker thread to start
        return self._connect().__await__()

    def stop(self) -> None:
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _on_loop_engine(url: URL) -> AsyncEngine:
    """An engine whose connections never wait for a lock on the loop: ``busy_timeout`` is 0, and a write
    that finds another process writing falls back to the threaded engine (``Database._session``)."""

    async def connect() -> aiosqlite.Connection:
        # isolation_level=None: we issue BEGIN ourselves; check_same_thread: the pool may close from elsewhere
        return await _OnLoopConnection(
            lambda: sqlite3.connect(url.database or "", isolation_level=None, check_same_thread=False), 64
        )

    engine = create_async_engine(url, async_creator=connect)
    _install_sqlite_hooks(engine, busy_timeout_ms=0)
    return engine


def _install_sqlite_hooks(engine: AsyncEngine, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        if dbapi_connection.isolation_level is not None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
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
        self._short_engine: AsyncEngine | None = None
        if self.is_sqlite:
            _install_sqlite_hooks(self.engine)
            if parsed.database not in (None, "", ":memory:"):
                self._short_engine = _on_loop_engine(parsed)
        self._write_turn = WriteTurn()

    @asynccontextmanager
    async def _scope(self, mode: str, urgent: bool = False, short: bool = False) -> AsyncIterator[AsyncSession]:
        if self.is_sqlite and mode == "IMMEDIATE":
            # SQLite has one writer at a time anyway. Queueing our own writers here, instead of letting
            # them collide in BEGIN IMMEDIATE, spares SQLite's busy handler, which sleeps in steps of up
            # to 100 ms and left the event loop idle under load. Other processes still meet the busy timeout.
            async with self._write_turn.turn(urgent):
                async with self._session(mode, short) as session:
                    yield session
        else:
            async with self._session(mode, short) as session:
                yield session

    @asynccontextmanager
    async def _session(self, mode: str, short: bool) -> AsyncIterator[AsyncSession]:
        async with AsyncExitStack() as stack:
            session = None
            if short and self._short_engine is not None:
                # None when another process holds SQLite's write lock: wait for it in a thread, not on the loop
                session = await self._begin(stack, self._short_engine, mode, give_way=True)
            if session is None:
                session = await self._begin(stack, self.engine, mode)
            assert session is not None
            yield session

    async def _begin(
        self, stack: AsyncExitStack, engine: AsyncEngine, mode: str, give_way: bool = False
    ) -> AsyncSession | None:
        """A session with its transaction begun now (on SQLite: ``BEGIN <mode>``), closed by ``stack``."""
        scope = AsyncExitStack()
        try:
            raw = await scope.enter_async_context(engine.connect())
            connection: AsyncConnection = raw
            if self.is_sqlite:
                connection = await raw.execution_options(sqlite_begin=mode)
            session = await scope.enter_async_context(AsyncSession(bind=connection, expire_on_commit=False))
            await scope.enter_async_context(session.begin())
            await session.connection()
        except BaseException as exc:  # a cancellation too: the connection goes back explicitly, not via the GC
            await scope.__aexit__(type(exc), exc, exc.__traceback__)  # rolls back and closes
            locked = isinstance(exc, OperationalError) and ("locked" in str(exc) or "busy" in str(exc))
            if give_way and locked:
                return None
            raise
        await stack.enter_async_context(scope)
        return session

    def write(self, *, urgent: bool = False, short: bool = False) -> Any:
        """A transaction that may read then write (``BEGIN IMMEDIATE`` on SQLite); commits on exit.
        ``urgent`` writes (a message about to leave) go before queued guest turns; ``short`` ones touch a
        handful of rows and run on the event loop's thread on SQLite (module docstring)."""
        return self._scope("IMMEDIATE", urgent, short)

    def read(self, *, short: bool = False) -> Any:
        """A read-only transaction; never blocks writers under WAL."""
        return self._scope("DEFERRED", short=short)

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self._short_engine is not None:
            await self._short_engine.dispose()
