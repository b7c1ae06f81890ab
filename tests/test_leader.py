"""The scheduler leader connects to PostgreSQL with everything the database URL says."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from bot.leader import LeaderLock, connect_args
from tests.conftest import POSTGRES


def test_url_options_reach_asyncpg() -> None:
    args = connect_args(make_url("postgresql+asyncpg://u:p%40ss@db.example:6543/concierge?ssl=require"))
    assert args == {"host": "db.example", "port": 6543, "user": "u", "password": "p@ss", "database": "concierge",
                    "ssl": "require"}
    socket = connect_args(make_url("postgresql+asyncpg://concierge@/concierge?host=/var/run/postgresql"))
    assert socket["host"] == "/var/run/postgresql" and socket["database"] == "concierge"
    tuned = connect_args(make_url("postgresql+asyncpg://u@h/d?prepared_statement_cache_size=0"))
    assert tuned == {"host": "h", "user": "u", "database": "d"}  # the engine's own option, not asyncpg.connect's


@pytest.mark.skipif(not POSTGRES, reason="needs PostgreSQL")
async def test_leader_takes_the_lock_with_url_options(database_url: str) -> None:
    server = make_url(database_url)  # the server named in the query string, as for a socket directory
    url = server.set(host=None, port=None).update_query_dict({"host": server.host, "port": str(server.port or 5432),
                                                              "ssl": "disable"})
    lock = LeaderLock(url.render_as_string(hide_password=False))
    try:
        assert await lock.try_acquire()
    finally:
        await lock.release()
