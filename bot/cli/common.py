"""What every command shares: reading the settings named on the command line and opening the store."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.config import Settings, load_settings
from crm.db import Database
from crm.migrate import upgrade

EXIT_CONFIG = 2  # a configuration mistake; the message names the key and the file


def settings_of(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


@asynccontextmanager
async def open_store(settings: Settings) -> AsyncIterator[Database]:
    """The store for one command, its schema brought up to date (a command may be the first thing run on
    a fresh data dir); its connections are closed however the command ends."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    database = Database(settings.database_url)
    try:
        await upgrade(database)
        yield database
    finally:
        await database.dispose()
