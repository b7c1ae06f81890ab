"""Exactly one scheduler per database, with fail-over.

On PostgreSQL the leader holds a session-level advisory lock on a connection of its own: if the process
dies, the connection closes, the lock is released and a standby worker takes over within one retry
interval. On SQLite (one machine) an exclusive lock on a file next to the database does the same.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path
from typing import IO, Any

import asyncpg
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.engine import URL, make_url

log = logging.getLogger(__name__)

ADVISORY_KEY = 0x636F6E63  # "conc": one scheduler leader per database
_DIALECT_ONLY = ("prepared_statement_cache_size", "prepared_statement_name_func", "async_creator_fn")


def connect_args(url: URL) -> dict[str, Any]:
    """``asyncpg.connect`` keywords for the URL the store's engine uses, read the way SQLAlchemy's asyncpg
    dialect reads it: ``?ssl=require``, a socket directory in ``?host=``, ``?server_settings`` and every
    other option reach the leader's connection too, so the election connects wherever the store does."""
    args, kwargs = PGDialect_asyncpg().create_connect_args(url)
    assert not args  # the dialect passes everything by keyword
    return {key: value for key, value in kwargs.items() if key not in _DIALECT_ONLY}


class LeaderLock:
    def __init__(self, database_url: str) -> None:
        self.url = make_url(database_url)
        self._connection: asyncpg.Connection | None = None
        self._file: IO[str] | None = None

    @property
    def held(self) -> bool:
        return self._connection is not None or self._file is not None

    async def try_acquire(self) -> bool:
        if self.held:
            return await self._still_held()
        if self.url.get_backend_name() == "postgresql":
            return await self._acquire_advisory()
        return self._acquire_file()

    async def _acquire_advisory(self) -> bool:
        connection = await asyncpg.connect(**connect_args(self.url))
        if await connection.fetchval("SELECT pg_try_advisory_lock($1)", ADVISORY_KEY):
            self._connection = connection
            return True
        await connection.close()
        return False

    def _acquire_file(self) -> bool:
        database = Path(self.url.database or "concierge.db")
        handle = open(database.with_name(database.name + ".scheduler.lock"), "a+", encoding="utf-8")  # noqa: SIM115
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle
        return True

    async def _still_held(self) -> bool:
        """A leader whose lock connection broke has lost the lock: it must step down."""
        if self._connection is None:
            return True
        try:
            await self._connection.fetchval("SELECT 1")
            return True
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            log.warning("lost the scheduler leader lock (database connection broke)")
            self._connection = None
            return False

    async def release(self) -> None:
        if self._connection is not None:
            try:
                await self._connection.close()
            finally:
                self._connection = None
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
