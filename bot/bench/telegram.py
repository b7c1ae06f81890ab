"""``concierge bench telegram``: our whole Telegram path against a bare python-telegram-bot echo bot.

Both run in this process against the same local fake Bot API server, one after the other, on the same
messages (``chats × messages`` guest questions queued before the bot starts). The echo bot uses PTB's
own Updater and replies with ``reply_text``; Concierge runs its polling loop → durable inbox → pipeline
(NLP, store, handlers) → outbox → sender. Pacing is lifted for both (the local server has no limits):
what is compared is the work per message, not Telegram's 30/s. Goal: ratio ≥ 0.5.

A third run, the "durable echo", keeps Concierge's intake, inbox, outbox and sender but answers with an
echo (no NLP, guest, conversation or log): it shows how much of the gap crash safety alone takes.
Rounds alternate and medians are reported, because one run swings by ±20 % on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

from bot.bench.fake_bot_api import FakeBotApi
from bot.bench.server import MESSAGES
from bot.channels.telegram.intake import api_base
from bot.config import load_settings
from bot.pipeline import Pending, Pipeline, Result
from crm import inbox
from crm.models import Outbox
from crm.outbox import enqueue_rows
from crm.rows import row_values


def add_bench_telegram(bench_subparsers: Any) -> None:
    bench = bench_subparsers.add_parser("telegram", help="throughput through python-telegram-bot vs a bare echo bot")
    bench.add_argument("--chats", type=int, default=100)
    bench.add_argument("--messages", type=int, default=10, help="per chat")
    bench.add_argument("--rounds", type=int, default=3,
                       help="alternating echo/Concierge runs; the median ratio is reported (one run swings ±20 %%)")
    bench.set_defaults(func=lambda args: asyncio.run(run(args)))


def _queue(server: FakeBotApi, chats: int, messages: int) -> int:
    for index in range(messages):
        for chat in range(chats):
            server.push_text(500_000 + chat, MESSAGES[(chat + index) % len(MESSAGES)])
    return chats * messages


@dataclass
class Run:
    """One side of a round: messages per second, and the event loop thread's CPU per message (everything
    in this process runs on that thread, the fake server too — so a CPU-bound run is rate ≈ 1 / cpu)."""

    rate: float
    cpu_ms: float


async def _echo(chats: int, messages: int) -> Run:
    server = FakeBotApi()
    await server.start()

    async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.message and update.message.text:
            await update.message.reply_text(update.message.text)

    app = ApplicationBuilder().token(server.token).base_url(api_base(server.base_url)).concurrent_updates(64).build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    total = _queue(server, chats, messages)
    await app.initialize()
    started, cpu = time.perf_counter(), time.thread_time()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1)
    try:
        await server.wait_for(lambda: len(server.sent) >= total, timeout=600)
        run = Run(total / (time.perf_counter() - started), 1000 * (time.thread_time() - cpu) / total)
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
        await server.stop()
    return run


async def _durable_echo(pipeline: Pipeline, inbox_id: int, pending: Pending) -> Result:
    """Only what crash safety needs: the update claimed in the inbox and its answer queued in the outbox,
    in one transaction; no NLP, guest, conversation or log. Concierge's sender then marks and sends it."""
    inbound = pipeline._parsers[pending.channel](pending.payload)
    assert inbound is not None
    async with pipeline.db.write(short=True) as session:
        if await inbox.claim(session, inbox_id) is None:
            return Result([], duplicate=True)
        await enqueue_rows(session, [row_values(Outbox, channel=inbound.channel, chat_id=inbound.chat_id,
                                                text=inbound.text)])
    pipeline.on_outbox()
    return Result([])


async def _concierge(config: Path | None, chats: int, messages: int, *, durable_echo: bool = False) -> Run:
    from bot.app import Concierge

    server = FakeBotApi()
    await server.start()
    with tempfile.TemporaryDirectory(prefix="concierge-bench-") as tmp:
        settings = load_settings(config, env={
            "CONCIERGE_DATA_DIR": tmp, "TELEGRAM_BOT_TOKEN": server.token,
            "TELEGRAM_API_BASE_URL": server.base_url,
        })
        fast = settings.telegram.model_copy(update={"poll_timeout": 1, "rate_limit_per_second": 100_000.0,
                                                    "rate_limit_per_chat_seconds": 0.0})
        app = Concierge(settings.model_copy(update={"telegram": fast}))
        if durable_echo:  # the floor: Concierge's intake, store and sender around an echo
            app.pipeline._process = partial(_durable_echo, app.pipeline)  # type: ignore[method-assign]
        await app.prepare_store()
        total = _queue(server, chats, messages)
        started, cpu = time.perf_counter(), time.thread_time()
        await app.start(serve_http=False)
        try:
            await server.wait_for(lambda: len(server.sent) >= total, timeout=600)
            run = Run(total / (time.perf_counter() - started), 1000 * (time.thread_time() - cpu) / total)
        finally:
            await app.stop()
            await server.stop()
    return run


async def run(args: argparse.Namespace) -> int:
    total = args.chats * args.messages
    print(f"concierge bench telegram — {total} messages from {args.chats} chats, local fake Bot API, pacing lifted")
    ratios, floors = [], []
    cpu: dict[str, list[float]] = {"echo": [], "concierge": [], "durable": []}
    for index in range(max(1, args.rounds)):
        echo = await _echo(args.chats, args.messages)
        ours = await _concierge(args.config, args.chats, args.messages)
        floor = await _concierge(args.config, args.chats, args.messages, durable_echo=True)
        ratios.append(ours.rate / echo.rate)
        floors.append(floor.rate / echo.rate)
        for name, run in (("echo", echo), ("concierge", ours), ("durable", floor)):
            cpu[name].append(run.cpu_ms)
        print(f"  round {index + 1}: bare echo bot (PTB Updater + reply_text) {echo.rate:.0f} msg/s; "
              f"Concierge (inbox → NLP → store → outbox) {ours.rate:.0f} msg/s, ratio {ours.rate / echo.rate:.2f}; "
              f"durable echo (inbox → outbox only) {floor.rate:.0f} msg/s, ratio {floor.rate / echo.rate:.2f}")
    print(f"  ratio, median of {len(ratios)} rounds: {statistics.median(ratios):.2f}   (goal ≥ 0.5)")
    print(f"  durable echo ratio (what crash safety alone costs), median: {statistics.median(floors):.2f}")
    print("  event-loop CPU per message, median: " + ", ".join(
        f"{name} {statistics.median(values):.2f} ms" for name, values in cpu.items()))
    return 0
