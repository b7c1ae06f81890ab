"""``concierge bench crash --web``: ``kill -9`` under a burst from many web chat sessions, restart, count.

Each session behaves like the chat page: it sends its messages one after another, each with its own id,
and re-sends a message (same id) until it gets an answer — through the kill, while the server is down
and after the restart on the same address. Then the store is asked what was processed: every message
must have been handled exactly once ("duplicated" counts a message whose words were logged more than
once, "lost" one never answered or never logged), however the kill fell between the inbox commit, the
turn and the response.
"""

from __future__ import annotations

import asyncio
import os
import signal
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import aiohttp
from sqlalchemy import func
from sqlmodel import select

from bot.bench.server import MESSAGES, UNLIMITED_CLIENTS, free_port, spawn, stop, wait_healthy
from crm.db import Database
from crm.models import InboxUpdate, Message
from crm.types import utcnow

RETRY_SECONDS = 0.2  # the page backs off from 1 s; a bench client may be keener


@dataclass(frozen=True)
class WebCrashReport:
    sessions: int
    messages: int  # sent in all
    answered_before_kill: int
    cut_off: int  # sent before the kill, answered only after the restart (on a re-send)
    committed_before_kill: int  # of those, already in the inbox when the process died
    lost: int
    duplicated: int
    resent: int  # requests repeated with an id already sent
    seconds: float


@dataclass
class _Client:
    session: str
    answered: dict[str, float]  # message id -> when the answer arrived
    first_sent: dict[str, float]  # message id -> when it was first sent
    resent: int = 0


async def _talk(http: aiohttp.ClientSession, url: str, client: _Client, count: int, deadline: float) -> None:
    for index in range(count):
        message_id = f"m{index}"
        body = {"session": client.session, "id": message_id, "text": MESSAGES[index % len(MESSAGES)]}
        tries = 0
        client.first_sent[message_id] = time.monotonic()
        while time.monotonic() < deadline:
            tries += 1
            try:
                async with http.post(url, json=body, timeout=aiohttp.ClientTimeout(total=20)) as response:
                    if response.status == 200 and (await response.json()).get("replies") is not None:
                        client.answered[message_id] = time.monotonic()
                        break
            except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError):
                pass
            await asyncio.sleep(RETRY_SECONDS)
        client.resent += tries - 1


async def web_crash_run(
    config: Path | None, sessions: int, messages: int, kill_at: float, *, timeout: float = 180,
    database_url: str | None = None,
) -> WebCrashReport:
    started = time.perf_counter()
    total = sessions * messages
    clients = [_Client(f"bench{n:04d}{os.urandom(12).hex()}", {}, {}) for n in range(sessions)]
    with tempfile.TemporaryDirectory(prefix="concierge-crash-web-") as tmp:
        data_dir, port = Path(tmp) / "data", free_port()
        env = {**UNLIMITED_CLIENTS, **({"CONCIERGE_DATABASE_URL": database_url} if database_url else {})}
        first = spawn(config, data_dir, port, env)
        await wait_healthy(port, first)
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            url = f"http://127.0.0.1:{port}/api/chat"
            talking = asyncio.gather(*(_talk(http, url, client, messages, deadline) for client in clients))
            while sum(len(c.answered) for c in clients) < kill_at * total and first.poll() is None:
                await asyncio.sleep(0.01)
            os.kill(first.pid, signal.SIGKILL)
            first.wait()
            killed_at, killed_wall = time.monotonic(), utcnow()
            before = sum(len(c.answered) for c in clients)
            second = spawn(config, data_dir, port, env)
            try:
                await talking
            finally:
                stop(second)
        processed, received = await _processed(database_url or f"sqlite+aiosqlite:///{data_dir / 'concierge.db'}")
    answered = {(c.session, mid) for c in clients for mid in c.answered}
    cut_off = [(c.session, mid) for c in clients for mid, when in c.answered.items()
               if c.first_sent[mid] < killed_at < when]
    committed = sum(1 for key in cut_off if key in received and received[key] < killed_wall)
    expected = {(c.session, f"m{i}") for c in clients for i in range(messages)}
    lost = sum(1 for key in expected if key not in answered or processed.get(key, 0) == 0)
    duplicated = sum(1 for key in expected if processed.get(key, 0) > 1)
    return WebCrashReport(sessions, total, before, len(cut_off), committed, lost, duplicated,
                          sum(c.resent for c in clients), time.perf_counter() - started)


async def _processed(url: str) -> tuple[Counter[tuple[str, str]], dict[tuple[str, str], datetime]]:
    """How many times each (session, message id) was logged as a guest line, and when its inbox row was
    committed."""
    database = Database(url)
    try:
        async with database.read() as session:
            guest_line = (Message.inbox_id == InboxUpdate.id) & (Message.direction == "in")  # type: ignore[operator]
            rows = (await session.execute(
                select(InboxUpdate.update_id, InboxUpdate.received_at, func.count(Message.id))
                .join(Message, guest_line, isouter=True)
                .where(InboxUpdate.channel == "web")
                .group_by(InboxUpdate.update_id, InboxUpdate.received_at)
            )).all()
    finally:
        await database.dispose()
    counts: Counter[tuple[str, str]] = Counter()
    received: dict[tuple[str, str], datetime] = {}
    for update_id, received_at, count in rows:
        session_id, _, message_id = str(update_id).partition(":")
        counts[(session_id, message_id)] = int(count)
        received[(session_id, message_id)] = received_at
    return counts, received


def print_report(report: WebCrashReport) -> int:
    print(f"concierge bench crash --web — {report.sessions} sessions × {report.messages // max(report.sessions, 1)} "
          f"messages, kill -9 after {report.answered_before_kill} answers, restart on the same address")
    print(f"  cut off by the kill {report.cut_off} ({report.committed_before_kill} already in the inbox), "
          f"answered after the restart on a re-send; lost {report.lost}, duplicated {report.duplicated}, "
          f"re-sent requests {report.resent}, {report.seconds:.1f} s")
    return 0 if report.lost == 0 and report.duplicated == 0 else 1
