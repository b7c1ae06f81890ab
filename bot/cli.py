"""The ``concierge`` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.config import ConfigError, Settings, load_settings
from bot.logs import setup_logging

EXIT_CONFIG = 2


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


def _run(args: argparse.Namespace) -> int:
    from bot.app import Concierge

    settings = _settings(args)
    setup_logging(logging.DEBUG if args.verbose else logging.INFO, secrets=(settings.telegram.token,))
    app = Concierge(settings)
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
    from crm.db import Database
    from crm.migrate import upgrade

    settings = _settings(args)
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    async def go() -> None:
        database = Database(settings.database_url)
        try:
            await upgrade(database)
        finally:
            await database.dispose()

    asyncio.run(go())
    print("database schema is up to date")
    return 0


def _check_config(args: argparse.Namespace) -> int:
    settings = _settings(args)
    print(f"{settings.source}: OK ({len(settings.room_types)} room types, {len(settings.faq)} FAQ topics)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from bot.nlp_cli import add_bench_nlp, add_nlp_commands

    parser = argparse.ArgumentParser(prog="concierge", description="Hotel guest-service bot")
    parser.add_argument("--config", type=Path, default=None, help="config file (default: $CONCIERGE_CONFIG or ./config.yaml)")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="serve the web chat (and Telegram when a token is set)")
    run.add_argument("--verbose", action="store_true")
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

    add_nlp_commands(sub)
    bench = sub.add_parser("bench", help="benchmarks that print figures")
    bench_sub = bench.add_subparsers(dest="bench_command", required=True)
    add_bench_nlp(bench_sub)
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
