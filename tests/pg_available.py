"""Exit 0 when the PostgreSQL server given as argv[1] accepts a connection (used by ``make test``)."""

from __future__ import annotations

import asyncio
import sys

import asyncpg
from sqlalchemy.engine import make_url


async def _check(url: str) -> bool:
    server = make_url(url)
    try:
        connection = await asyncpg.connect(
            host=server.host, port=server.port or 5432, user=server.username, database=server.database, timeout=3
        )
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await connection.close()
    return True


if __name__ == "__main__":
    sys.exit(0 if asyncio.run(_check(sys.argv[1])) else 1)
