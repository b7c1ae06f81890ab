"""`concierge run` (the service) and `concierge chat` (the same pipeline in this terminal)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from typing import TYPE_CHECKING, Any

from bot.cli.common import settings_of
from bot.logs import setup_logging

if TYPE_CHECKING:
    from bot.app import Concierge


def add_serve_commands(subparsers: Any) -> None:
    run = subparsers.add_parser("run", help="serve the web chat (and Telegram when a token is set)")
    run.add_argument("--verbose", action="store_true")
    run.add_argument("--worker", action="store_true",
                     help="an extra worker behind the same webhook: process and send, but leave Telegram intake to the primary")
    run.set_defaults(func=_run)

    chat = subparsers.add_parser("chat", help="talk to the bot in this terminal")
    chat.add_argument("--session", default=None, help="reuse a conversation")
    chat.set_defaults(func=_chat)


def _run(args: argparse.Namespace) -> int:
    from bot.app import Concierge  # imported here: `concierge config check` should not load jieba

    settings = settings_of(args)
    level = logging.DEBUG if args.verbose else settings.logging.level
    secrets = (settings.telegram.token, settings.http.metrics_token)
    setup_logging(level, secrets=secrets, json_lines=settings.logging.format == "json")
    app = Concierge(settings, worker=args.worker)
    try:
        asyncio.run(_serve_until_signalled(app))
    except KeyboardInterrupt:  # a second Ctrl-C during the orderly stop
        pass
    return 0


async def _serve_until_signalled(app: Concierge) -> None:
    """SIGTERM (docker stop, systemd, Kubernetes) and SIGINT (Ctrl-C) both mean an orderly stop: without a
    handler SIGTERM would end the process with leases held and the scheduler's lock unreleased."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await app.serve_forever(until=stop)


def _chat(args: argparse.Namespace) -> int:
    from bot.app import Concierge
    from bot.channels.terminal import chat

    settings = settings_of(args)
    setup_logging(logging.WARNING, secrets=(settings.telegram.token, settings.http.metrics_token))

    async def go() -> int:
        app = Concierge(settings)
        await app.start(serve_http=False)
        try:
            return await chat(app.pipeline, args.session)
        finally:
            await app.stop()

    return asyncio.run(go())
