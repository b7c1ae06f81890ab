"""`concierge config check`: validate the configuration file without starting anything."""

from __future__ import annotations

import argparse
from typing import Any

from bot.cli.common import settings_of


def add_config_commands(subparsers: Any) -> None:
    config = subparsers.add_parser("config", help="configuration")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    config_sub.add_parser("check", help="validate the configuration file").set_defaults(func=_check)


def _check(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    print(f"{settings.source}: OK ({len(settings.room_types)} room types, {len(settings.faq)} FAQ topics)")
    return 0
