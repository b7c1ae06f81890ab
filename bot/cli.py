"""The ``concierge`` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import ConfigError, Settings, load_settings
from bot.logs import setup_logging

if TYPE_CHECKING:
    from crm.db import Database

EXIT_CONFIG = 2


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


@asynccontextmanager
async def open_store(settings: Settings) -> AsyncIterator[Database]:
    """The store for one command, its schema brought up to date (a command may be the first thing run on
    a fresh data dir); its connections are closed however the command ends."""
    from crm.db import Database
    from crm.migrate import upgrade

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    database = Database(settings.database_url)
    try:
        await upgrade(database)
        yield database
    finally:
        await database.dispose()


def _run(args: argparse.Namespace) -> int:
    from bot.app import Concierge

    settings = _settings(args)
    level = logging.DEBUG if args.verbose else settings.logging.level
    setup_logging(level, secrets=(settings.telegram.token,), json_lines=settings.logging.format == "json")
    app = Concierge(settings, worker=args.worker)
    try:
        asyncio.run(app.serve_forever())
    except KeyboardInterrupt:
        pass
    return 0


def _chat(args: argparse.Namespace) -> int:
    from bot.terminal import chat

    settings = _settings(args)
    setup_logging(logging.WARNING, secrets=(settings.telegram.token,))
    return asyncio.run(chat(settings, args.session))


def _db_upgrade(args: argparse.Namespace) -> int:
    async def go() -> None:
        async with open_store(_settings(args)):
            pass  # opening the store is the upgrade

    asyncio.run(go())
    print("database schema is up to date")
    return 0


def _db_backup(args: argparse.Namespace) -> int:
    from datetime import datetime

    from crm.maintenance import backup

    settings = _settings(args)
    target = args.to or settings.data_dir / "backups" / f"concierge-{datetime.now():%Y%m%d-%H%M%S}.db"
    try:
        pages = backup(settings.database_url, target)
    except ValueError as exc:
        print(f"concierge: {exc}", file=sys.stderr)
        return 1
    print(f"backed up {pages} pages to {target}")
    return 0


def _db_restore(args: argparse.Namespace) -> int:
    from crm.maintenance import restore

    settings = _settings(args)
    try:
        restore(settings.database_url, args.file)
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"concierge: {exc}", file=sys.stderr)
        return 1
    print(f"restored {args.file} into {settings.database_url.split('///')[-1]}")
    return 0


def _db_purge(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from crm.maintenance import purge_messages
    from crm.types import utcnow

    settings = _settings(args)
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


def _check_config(args: argparse.Namespace) -> int:
    settings = _settings(args)
    print(f"{settings.source}: OK ({len(settings.room_types)} room types, {len(settings.faq)} FAQ topics)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from bot.bench_crash import add_bench_crash
    from bot.bench_pipeline import add_bench_pipeline
    from bot.bench_memory import add_bench_memory
    from bot.bench_store import add_bench_store
    from bot.bench_telegram import add_bench_telegram
    from bot.nlp_cli import add_bench_nlp, add_nlp_commands
    from bot.staff_cli import add_staff_commands
    from bot.lifecycle_cli import add_bench_campaign, add_campaign_commands, add_guest_commands  # issue 6

    parser = argparse.ArgumentParser(prog="concierge", description="Hotel guest-service bot")
    parser.add_argument("--config", type=Path, default=None, help="config file (default: $CONCIERGE_CONFIG or ./config.yaml)")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="serve the web chat (and Telegram when a token is set)")
    run.add_argument("--verbose", action="store_true")
    run.add_argument("--worker", action="store_true",
                     help="an extra worker behind the same webhook: process and send, but leave Telegram intake to the primary")
    run.set_defaults(func=_run)

    chat = sub.add_parser("chat", help="talk to the bot in this terminal")
    chat.add_argument("--session", default=None, help="reuse a conversation")
    chat.set_defaults(func=_chat)

    config = sub.add_parser("config", help="configuration")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    config_sub.add_parser("check", help="validate the configuration file").set_defaults(func=_check_config)

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply schema migrations").set_defaults(func=_db_upgrade)
    backup = db_sub.add_parser("backup", help="online backup of the SQLite database")
    backup.add_argument("--to", type=Path, default=None, help="backup file (default: data/backups/concierge-<time>.db)")
    backup.set_defaults(func=_db_backup)
    restore = db_sub.add_parser("restore", help="replace the SQLite database with a backup (bot stopped)")
    restore.add_argument("file", type=Path)
    restore.set_defaults(func=_db_restore)
    purge = db_sub.add_parser("purge", help="delete conversation text older than the retention period")
    purge.add_argument("--days", type=int, default=None, help="override retention.messages_days")
    purge.set_defaults(func=_db_purge)

    add_nlp_commands(sub)
    add_staff_commands(sub)
    add_campaign_commands(sub), add_guest_commands(sub)  # issue 6
    bench = sub.add_parser("bench", help="benchmarks that print figures")
    bench_sub = bench.add_subparsers(dest="bench_command", required=True)
    add_bench_nlp(bench_sub)
    add_bench_pipeline(bench_sub)
    add_bench_crash(bench_sub)
    add_bench_telegram(bench_sub)
    add_bench_store(bench_sub)
    add_bench_memory(bench_sub)
    add_bench_campaign(bench_sub)  # issue 6
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"concierge: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG


if __name__ == "__main__":
    sys.exit(main())
