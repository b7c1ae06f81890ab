"""`concierge db upgrade|backup|restore|purge`: the store's maintenance."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.cli.common import open_store, settings_of
from crm.maintenance import backup, purge_messages, restore
from crm.types import utcnow


def add_db_commands(subparsers: Any) -> None:
    db = subparsers.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply schema migrations").set_defaults(func=_upgrade)
    backup_cmd = db_sub.add_parser("backup", help="online backup of the SQLite database")
    backup_cmd.add_argument("--to", type=Path, default=None, help="backup file (default: data/backups/concierge-<time>.db)")
    backup_cmd.set_defaults(func=_backup)
    restore_cmd = db_sub.add_parser("restore", help="replace the SQLite database with a backup (bot stopped)")
    restore_cmd.add_argument("file", type=Path)
    restore_cmd.set_defaults(func=_restore)
    purge = db_sub.add_parser("purge", help="delete conversation text older than the retention period")
    purge.add_argument("--days", type=int, default=None, help="override retention.messages_days")
    purge.set_defaults(func=_purge)


def _upgrade(args: argparse.Namespace) -> int:
    async def go() -> None:
        async with open_store(settings_of(args)):
            pass  # opening the store is the upgrade

    asyncio.run(go())
    print("database schema is up to date")
    return 0


def _backup(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    target = args.to or settings.data_dir / "backups" / f"concierge-{datetime.now():%Y%m%d-%H%M%S}.db"
    try:
        pages = backup(settings.database_url, target)
    except ValueError as exc:
        print(f"concierge: {exc}", file=sys.stderr)
        return 1
    print(f"backed up {pages} pages to {target}")
    return 0


def _restore(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    try:
        restore(settings.database_url, args.file)
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"concierge: {exc}", file=sys.stderr)
        return 1
    print(f"restored {args.file} into {settings.database_url.split('///')[-1]}")
    return 0


def _purge(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    days = args.days if args.days is not None else settings.retention.messages_days
    if days <= 0:
        print("retention is 0 (keep forever): nothing purged")
        return 0

    async def go() -> dict[str, int]:
        async with open_store(settings) as database:
            return await purge_messages(database, utcnow() - timedelta(days=days))

    counts = asyncio.run(go())
    print(f"purged {counts['messages']} messages and {counts['inbox']} inbox updates older than {days} days")
    return 0
