"""The ``concierge`` command line: one module per command group, the shared helpers in ``common``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.cli.bench import add_bench_commands
from bot.cli.campaigns import add_campaign_commands
from bot.cli.common import EXIT_CONFIG
from bot.cli.config import add_config_commands
from bot.cli.db import add_db_commands
from bot.cli.guests import add_guest_commands
from bot.cli.nlp import add_nlp_commands
from bot.cli.serve import add_serve_commands
from bot.cli.staff import add_staff_commands
from bot.config import ConfigError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="concierge", description="Hotel guest-service bot")
    parser.add_argument("--config", type=Path, default=None, help="config file (default: $CONCIERGE_CONFIG or ./config.yaml)")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (add_serve_commands, add_config_commands, add_db_commands, add_nlp_commands, add_staff_commands,
                add_campaign_commands, add_guest_commands, add_bench_commands):
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"concierge: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
