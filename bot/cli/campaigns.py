"""``concierge campaigns preview --on DATE`` and ``concierge campaigns run NAME``.

Both work on the configured database. ``run`` only queues (outbox rows); the running bot's deliverer
sends them, paced, within a second of the commit.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from typing import Any

from bot.cli.common import open_store, settings_of
from bot.config import Settings
from bot.scheduler_setup import build_context
from handlers.i18n import Catalog
from scheduler.service import JOBS, LifecycleService


def add_campaign_commands(subparsers: Any) -> None:
    campaigns = subparsers.add_parser("campaigns", help="lifecycle campaigns: preview a day, run one now")
    sub = campaigns.add_subparsers(dest="campaigns_command", required=True)
    preview = sub.add_parser("preview", help="who would get what on a day (dry run)")
    preview.add_argument("--on", type=_day, default="today", help="today, tomorrow or YYYY-MM-DD (hotel time; default today)")
    preview.add_argument("--limit", type=int, default=50, help="lines to list per campaign")
    preview.set_defaults(func=_preview)
    run = sub.add_parser("run", help="run one campaign (or sla / nightly) now")
    run.add_argument("name", choices=JOBS)
    run.add_argument("--at", type=datetime.fromisoformat, default=None, help="pretend it is this time (ISO 8601 with offset)")
    run.set_defaults(func=_run)


RELATIVE_DAYS = {"today": lambda today: today, "tomorrow": lambda today: today + timedelta(days=1)}


def _day(value: str) -> date | str:
    """``today`` / ``tomorrow`` stay words until the hotel's zone is known; anything else is an ISO date."""
    if value.lower() in RELATIVE_DAYS:
        return value.lower()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not today, tomorrow or a YYYY-MM-DD date") from None


@asynccontextmanager
async def _service(settings: Settings) -> AsyncIterator[LifecycleService]:
    async with open_store(settings) as db:
        yield LifecycleService(db, build_context(settings, Catalog()))


def _preview(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    today = datetime.now(settings.hotel.zone).date()
    day = RELATIVE_DAYS[args.on](today) if isinstance(args.on, str) else args.on

    async def go() -> list[Any]:
        async with _service(settings) as service:
            return await service.runner.preview(day)

    lines = asyncio.run(go())
    zone = settings.hotel.zone
    print(f"Campaigns on {day.isoformat()} (times in {zone.key}; dry run, nothing queued)")
    shown: Counter[str] = Counter()
    for line in lines:
        shown[line.campaign] += 1
        if shown[line.campaign] > args.limit:
            continue
        text = line.text.replace("\n", " ")
        print(f"  {line.send_at.astimezone(zone):%H:%M}  {line.campaign:<11} guest {line.guest_id:<7} {line.locale:<7} "
              f"{line.status:<16} {text[:60]}")
    totals = Counter((line.campaign, line.status) for line in lines)
    print("Summary:")
    for (campaign, status), count in sorted(totals.items()):
        print(f"  {campaign:<11} {status:<16} {count}")
    if not lines:
        print("  nothing is due that day")
    return 0


def _run(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    started = time.monotonic()

    def progress(done: int, total: int) -> None:
        width = 30
        filled = width * done // total if total else width
        print(f"\r{args.name} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} "
              f"{time.monotonic() - started:.1f}s", end="", file=sys.stderr, flush=True)

    async def go() -> str:
        async with _service(settings) as service:
            return await service.run_job(args.name, args.at, progress)

    summary = asyncio.run(go())
    print(file=sys.stderr)
    print(summary)
    print("queued messages are sent by the running bot (concierge run), paced below Telegram's limits")
    return 0
