"""What the fake messaging platforms (Telegram's Bot API, WeChat, WhatsApp, LINE) share: a local aiohttp
server on a free port, used as ``async with``, and a wait for what it has received."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar, Self

import aiohttp
from aiohttp import web

WEBHOOK_TIMEOUT = aiohttp.ClientTimeout(total=15)


async def post_webhook(client: aiohttp.ClientSession, port: int, path: str, raw: bytes, signature: dict[str, str]) -> int:
    """Deliver a signed JSON callback to the bot on ``port`` as the platform would; the HTTP status."""
    async with client.post(f"http://127.0.0.1:{port}{path}", data=raw, timeout=WEBHOOK_TIMEOUT,
                           headers={"Content-Type": "application/json", **signature}) as response:
        await response.read()
        return response.status


@dataclass
class FakeServer:
    port: int = 0
    _runner: web.AppRunner | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    shutdown_timeout: ClassVar[float] = 60.0  # aiohttp's default: open requests may finish

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def progress(self) -> str:
        """What has arrived so far, for the message of a wait that timed out."""
        return ""

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=self.shutdown_timeout)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def received(self) -> None:
        """Something was sent to the platform: wake whoever waits for it."""
        self._changed.set()

    async def wait_for(self, condition: Callable[[], object], timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"condition not met in time{self.progress()}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), timeout=min(remaining, 0.2))
            except TimeoutError:
                pass
