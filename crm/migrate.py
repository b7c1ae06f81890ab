"""Schema migrations (Alembic), run on start-up and by ``concierge db upgrade``.

Alembic's commands are synchronous; we hand them a connection from our async engine so the same SQLite
pragmas and driver are used as at run time.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from crm.db import Database

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK = 0x6D696772  # "migr"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    return config


async def upgrade(database: Database, revision: str = "head") -> None:
    """Bring the schema to ``revision``; a no-op when it is already there."""

    def _upgrade(connection: Connection) -> None:
        if connection.dialect.name == "postgresql":  # workers starting together migrate one at a time
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        config = alembic_config(database.url)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with database.engine.begin() as connection:
        await connection.run_sync(_upgrade)
