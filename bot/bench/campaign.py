"""``concierge bench campaign --guests 100000``: plan a holiday greeting for N guests, then deliver a sample.

Plan: N consenting guests with a Telegram chat are seeded in a temporary SQLite database; the holiday
campaign is run (select + contact rules + outbox write) and timed — the budget is < 10 s for 100 000.

Deliver: the real Telegram sender (python-telegram-bot, our shared limiter, the outbox deliverer) sends to
the local fake Bot API server (bot/bench/fake_bot_api.py), which answers 429 above 30 messages/s like Telegram.
100 000 messages at 25/s take over an hour, so only ``--deliver`` rows (default 1500, about a minute) are released; the rest
stay held. The delivered rate is measured between the first and the last message the server accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, update
from sqlmodel import select

from bot.bench.fake_bot_api import FakeBotApi
from bot.config import Settings, load_settings
from crm.models import ChannelIdentity, Guest, Outbox
from crm.types import utcnow
from scheduler.calendar import holiday_date
from scheduler.context import at_local


def add_bench_campaign(bench_subparsers: Any) -> None:
    bench = bench_subparsers.add_parser("campaign", help="plan a holiday campaign for N guests and deliver a sample")
    bench.add_argument("--guests", type=int, default=100_000)
    bench.add_argument("--deliver", type=int, default=1500, help="messages actually delivered (25/s: 1500 ≈ 60 s)")
    bench.add_argument("--server-limit", type=float, default=30.0, help="the fake Bot API's 429 threshold, messages/s")
    bench.set_defaults(func=_bench)


def _latest_holiday(settings: Settings) -> tuple[str, date]:
    """The most recent configured holiday before today, so its greetings are due now (deliverable)."""
    today = datetime.now(settings.hotel.zone).date()
    found = [(holiday_date(code, year), code) for year in (today.year - 1, today.year)
             for code in settings.campaigns.holidays if holiday_date(code, year) < today]
    day, code = max(found)
    return code, day


async def _seed(app: Any, guests: int) -> float:
    started = time.perf_counter()
    now = utcnow()
    async with app.db.write() as session:
        for start in range(0, guests, 10_000):
            count = min(10_000, guests - start)
            await session.execute(insert(Guest), [
                {"name": f"Guest {start + n}", "language": ("zh-Hans", "en", "zh-Hant")[n % 3], "marketing_consent": True,
                 "consent_at": now, "consent_source": "bench", "created_at": now, "points": 0, "tier": "member",
                 "birthday_lunar": False, "surname": ""}
                for n in range(count)
            ])
        ids = list((await session.execute(select(Guest.id).order_by(Guest.id))).scalars())
        for start in range(0, len(ids), 10_000):
            await session.execute(insert(ChannelIdentity), [
                {"channel": "telegram", "external_id": str(100_000_000 + guest), "chat_id": str(100_000_000 + guest),
                 "display_name": "", "guest_id": guest, "created_at": now}
                for guest in ids[start:start + 10_000]
            ])
    return time.perf_counter() - started


async def _run(args: argparse.Namespace) -> int:
    from bot.app import Concierge

    server = FakeBotApi(global_limit=args.server_limit)
    await server.start()
    with tempfile.TemporaryDirectory(prefix="concierge-bench-") as tmp:
        env = {key: value for key, value in os.environ.items() if key != "CONCIERGE_DATABASE_URL"}
        env.update({"CONCIERGE_DATA_DIR": tmp, "TELEGRAM_BOT_TOKEN": server.token,
                    "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{server.port}", "CONCIERGE_TELEGRAM_STAFF_CHAT_ID": ""})
        settings = load_settings(args.config, env=env)
        settings = settings.model_copy(update={"telegram": settings.telegram.model_copy(update={"poll_timeout": 1})})
        app = Concierge(settings)
        await app.prepare_store()
        seed_seconds = await _seed(app, args.guests)
        print(f"seeded {args.guests} guests with consent and a Telegram chat in {seed_seconds:.1f}s ({Path(tmp).name})")

        code, day = _latest_holiday(settings)
        at = at_local(day, settings.campaigns.holiday_time, settings.hotel.zone) + timedelta(minutes=5)
        started = time.perf_counter()
        summary = await app.scheduler.service.run_job("holiday", at)
        plan_seconds = time.perf_counter() - started
        print(f"plan: holiday '{code}' {day.isoformat()} for {args.guests} guests: {plan_seconds:.2f}s (budget 10 s)")
        print(f"      {summary}")

        deliver = max(0, min(args.deliver, args.guests))
        async with app.db.write() as session:
            first = (await session.execute(select(Outbox.id).order_by(Outbox.id).limit(1))).scalar_one_or_none() or 0
            await session.execute(update(Outbox).where(Outbox.id >= first + deliver).values(status="held"))  # type: ignore[operator]
        rate = settings.telegram.rate_limit_per_second
        print(f"deliver: {deliver} of {args.guests} messages (the rest held: {args.guests / rate / 60:.0f} min at "
              f"{rate:g}/s would not fit a bench), fake Bot API limit {args.server_limit:g}/s")
        app.deliverer.time_shift = at - utcnow()  # sent "on" the holiday: not stale, not in the guests' night
        await app.start(serve_http=False)
        try:
            deadline = time.monotonic() + deliver / rate * 3 + 30
            while len(server.sent) < deliver and time.monotonic() < deadline:
                await asyncio.sleep(0.5)
                print(f"\r  sent {len(server.sent)}/{deliver}", end="", flush=True)
            print()
        finally:
            await app.stop()
        await server.stop()
    sent = [message.at for message in server.sent]
    if len(sent) >= 2:
        measured = (len(sent) - 1) / (sent[-1] - sent[0])
        print(f"delivered {len(sent)} in {sent[-1] - sent[0]:.1f}s: {measured:.2f} msg/s = "
              f"{100 * measured / rate:.1f}% of the configured {rate:g}/s (goal ≥ 95%); 429s: {server.too_many} (goal 0)")
    else:
        print(f"delivered {len(sent)}; 429s: {server.too_many}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))
