"""``kill -9`` in the middle of a webhook burst (WeChat, WhatsApp or LINE), restart, count answers.

A separate ``concierge run`` process gets ``guests × messages`` questions (each has exactly one answer)
posted to its webhook by the channel's in-process fake platform, a few at a time. Once a share of the
answers has gone out the process is killed with SIGKILL. Every callback that did not get its 200 is then
delivered again to the restarted process, as the platforms do (WeChat retries, Meta and LINE re-deliver),
and so are some that did: the platform cannot know the first one was committed. Then every guest must
have exactly one answer per question: "lost" counts missing answers, "duplicates" answers sent twice.
As for Telegram, a send cut off between its in-flight mark and the request leaving is left ``unknown``
for staff, never repeated.
"""

from __future__ import annotations

import asyncio
import os
import signal
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bot.bench.crash_report import QUESTIONS, CrashReport, expire_leases, fast_config, unknown_rows
from bot.bench.fake_line import FakeLine
from bot.bench.fake_wechat import FakeWeChat
from bot.bench.fake_whatsapp import FakeWhatsApp
from bot.bench.server import free_port, spawn, stop, wait_healthy
from bot.config import config_path

Post = Callable[[aiohttp.ClientSession, int], Awaitable[int]]


@dataclass
class _Platform:
    fake: Any
    env: dict[str, str]
    answers: Callable[[], Counter[str]]
    make: Callable[[str, int], Post]  # (guest, question number) -> a callback, posted again unchanged on retry


def _wechat(fake: FakeWeChat) -> _Platform:
    def make(user: str, index: int) -> Post:
        _msg_id, xml = fake.text_xml(user, QUESTIONS[index % len(QUESTIONS)])

        async def post(client: aiohttp.ClientSession, port: int) -> int:
            return (await fake.deliver(client, port, xml, openid=user))[0]

        return post

    return _Platform(fake, fake.env(), lambda: Counter(message.openid for message in fake.sent), make)


def _whatsapp(fake: FakeWhatsApp) -> _Platform:
    def make(user: str, index: int) -> Post:
        body = fake.text_message(user, QUESTIONS[index % len(QUESTIONS)])
        return lambda client, port: fake.deliver(client, port, body)

    return _Platform(fake, fake.env(), lambda: Counter(message.to for message in fake.sent), make)


def _line(fake: FakeLine) -> _Platform:
    def make(user: str, index: int) -> Post:
        event = fake.text(user, QUESTIONS[index % len(QUESTIONS)])
        return lambda client, port: fake.deliver(client, port, event)

    return _Platform(fake, fake.env(), lambda: Counter(message.to for message in fake.sent), make)


FAKES: dict[str, Callable[[], tuple[Any, Callable[[Any], _Platform]]]] = {
    "wechat": lambda: (FakeWeChat(), _wechat),
    "whatsapp": lambda: (FakeWhatsApp(), _whatsapp),
    "line": lambda: (FakeLine(reply_ttl=600), _line),
}


async def _burst(posts: list[Post], port: int, concurrency: int) -> list[Post]:
    """Post every callback, a few at a time; returns those that got no 200 (to be delivered again)."""
    failed: list[Post] = []
    queue = list(reversed(posts))
    async with aiohttp.ClientSession() as client:

        async def worker() -> None:
            while queue:
                post = queue.pop()
                try:
                    ok = await post(client, port) == 200
                except (aiohttp.ClientError, TimeoutError, OSError):
                    ok = False
                if not ok:
                    failed.append(post)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return failed


async def webhook_crash_run(
    channel: str,
    config: Path | None,
    guests: int,
    messages: int,
    kill_at: float,
    *,
    timeout: float = 150,
    database_url: str | None = None,
    concurrency: int = 6,
    leases_expire_at_restart: bool = False,
) -> CrashReport:
    """``leases_expire_at_restart``: tests skip the dead process's 30 s leases (see ``expire_leases``)."""
    fake, adapter = FAKES[channel]()
    await fake.start()
    platform = adapter(fake)
    started = time.perf_counter()
    users = [f"{channel}-guest-{index:03d}" for index in range(guests)]
    posts = [platform.make(user, index) for index in range(messages) for user in users]
    total = len(posts)
    try:
        with tempfile.TemporaryDirectory(prefix=f"concierge-crash-{channel}-") as tmp:
            fast = fast_config(config_path(config), Path(tmp) / "config.yaml")
            env = dict(platform.env)
            if database_url:
                env["CONCIERGE_DATABASE_URL"] = database_url
            data_dir = Path(tmp) / "data"
            port = free_port()
            first = spawn(fast, data_dir, port, env)
            await wait_healthy(port, first)
            burst = asyncio.create_task(_burst(posts, port, concurrency))
            deadline = time.monotonic() + 120
            while sum(platform.answers().values()) < kill_at * total and time.monotonic() < deadline:
                await asyncio.sleep(0.01)  # all posted already, or not: the kill lands mid-processing either way
            os.kill(first.pid, signal.SIGKILL)
            first.wait()
            killed_after = sum(platform.answers().values())
            unanswered = await burst
            url = database_url or f"sqlite+aiosqlite:///{data_dir / 'concierge.db'}"
            if leases_expire_at_restart:
                await expire_leases(url)
            port = free_port()
            second = spawn(fast, data_dir, port, env)
            try:
                await wait_healthy(port, second)
                # the platform re-delivers what it got no 200 for, and (unsure) some of what it did
                await _burst(unanswered + posts[:: max(1, total // 10)], port, concurrency)
                until, checked = time.monotonic() + timeout, 0.0
                while time.monotonic() < until:
                    counts = platform.answers()
                    if len(counts) == guests and min(counts.values()) >= messages:
                        break
                    if time.monotonic() - checked > 1:  # a send cut off by the kill is unknown, never repeated
                        checked = time.monotonic()
                        if sum(counts.values()) + await unknown_rows(url) >= total:
                            break
                    await asyncio.sleep(0.1)
                await asyncio.sleep(3)  # anything sent twice would arrive by now
            finally:
                stop(second)
            unknown = await unknown_rows(url)
    finally:
        await fake.stop()
    counts = platform.answers()
    lost = sum(max(0, messages - counts.get(user, 0)) for user in users)
    duplicates = sum(max(0, counts.get(user, 0) - messages) for user in users)
    return CrashReport(
        total, sum(counts.values()), lost, duplicates, killed_after, time.perf_counter() - started, unknown
    )
