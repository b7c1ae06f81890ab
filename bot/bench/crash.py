"""``concierge bench crash``: ``kill -9`` in the middle of a load, restart, count answers.

A separate ``concierge run`` process long-polls a local fake Bot API server holding ``chats × messages``
guest questions (each has exactly one answer). Once a share of the answers has gone out the process is
killed with SIGKILL and started again. Then every chat must have exactly one answer per question:
"lost" counts missing answers, "duplicates" answers sent twice (possible only for a reply whose request
reached Telegram in the instant before the kill: sendMessage has no idempotency key). Every send is
committed as "in flight" just before its request leaves, and such rows are never resent after a crash
but left ``unknown`` for staff, so duplicates cannot happen; a kill landing in the millisecond between
that commit and the request leaves the answer unsent — counted under "lost" and "unknown".
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bot.bench.crash_report import QUESTIONS, CrashReport, fast_config, unknown_rows
from bot.bench.crash_web import print_report, web_crash_run
from bot.bench.fake_bot_api import FakeBotApi
from bot.bench.server import free_port, spawn, stop
from bot.bench.webhook_crash import webhook_crash_run
from bot.config import config_path


def add_bench_crash(bench_subparsers: Any) -> None:
    bench = bench_subparsers.add_parser("crash", help="kill -9 under load, restart, count lost and duplicate answers")
    bench.add_argument("--chats", type=int, default=100)
    bench.add_argument("--messages", type=int, default=20, help="per chat (the flood limit is 20 a minute)")
    bench.add_argument("--kill-at", type=float, default=0.3, help="kill once this share of answers went out")
    bench.add_argument("--web", action="store_true",
                       help="web chat sessions that re-send until answered, instead of Telegram chats")
    bench.add_argument("--channel", choices=("telegram", "wechat", "whatsapp", "line"), default="telegram",
                       help="the channel the questions come through (its in-process fake platform)")
    bench.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    if args.web:
        return print_report(asyncio.run(web_crash_run(args.config, args.chats, args.messages, args.kill_at)))
    if args.channel == "telegram":
        report = asyncio.run(crash_run(args.config, args.chats, args.messages, args.kill_at))
    else:
        report = asyncio.run(webhook_crash_run(args.channel, args.config, args.chats, args.messages, args.kill_at))
    print(f"concierge bench crash ({args.channel}) — {report.questions} questions from {args.chats} chats, kill -9 after "
          f"{report.killed_after} answers, then restart")
    print(f"  answers {report.answers}, lost {report.lost}, duplicates {report.duplicates}, "
          f"left unknown for staff {report.unknown}, {report.seconds:.1f} s")
    return 0 if report.lost == 0 else 1


async def crash_run(
    config: Path | None, chats: int, messages: int, kill_at: float, *, timeout: float = 300,
    database_url: str | None = None,
) -> CrashReport:
    server = FakeBotApi()
    await server.start()
    started = time.perf_counter()
    try:
        for index in range(messages):
            for chat in range(chats):
                server.push_text(700_000 + chat, QUESTIONS[index % len(QUESTIONS)])
        total = chats * messages
        with tempfile.TemporaryDirectory(prefix="concierge-crash-") as tmp:
            fast = fast_config(config_path(config), Path(tmp) / "config.yaml")
            env = {"TELEGRAM_BOT_TOKEN": server.token, "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{server.port}"}
            if database_url:
                env["CONCIERGE_DATABASE_URL"] = database_url
            data_dir = Path(tmp) / "data"
            first = spawn(fast, data_dir, free_port(), env)
            await server.wait_for(lambda: len(server.sent) >= kill_at * total or first.poll() is not None, timeout=120)
            os.kill(first.pid, signal.SIGKILL)
            first.wait()
            killed_after = len(server.sent)
            second = spawn(fast, data_dir, free_port(), env)
            try:
                per_chat = lambda: Counter(message.chat_id for message in server.sent)  # noqa: E731
                await server.wait_for(
                    lambda: len(per_chat()) == chats and min(per_chat().values()) >= messages, timeout=timeout
                )
                await asyncio.sleep(3)  # anything sent twice would arrive by now
            except AssertionError:
                pass  # report what arrived
            finally:
                stop(second)
            unknown = await unknown_rows(database_url or f"sqlite+aiosqlite:///{data_dir / 'concierge.db'}")
    finally:
        await server.stop()
    counts = Counter(message.chat_id for message in server.sent)
    expected = {700_000 + chat: messages for chat in range(chats)}
    lost = sum(max(0, want - counts.get(chat, 0)) for chat, want in expected.items())
    duplicates = sum(max(0, counts.get(chat, 0) - want) for chat, want in expected.items())
    return CrashReport(total, len(server.sent), lost, duplicates, killed_after, time.perf_counter() - started, unknown)
