"""Shared by the WeChat, WhatsApp and LINE tests: waiting until a channel has nothing left to send."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any, Protocol

from sqlmodel import select

from bot.app import Concierge
from crm.models import InboxUpdate, Outbox
from crm.outbox import INFLIGHT
from crm.types import utcnow
from tests.quiescence import full_round


async def _busy(app: Concierge, channel: str) -> list[str]:
    soon = utcnow() + timedelta(seconds=30)
    async with app.db.read() as session:
        waiting = (await session.execute(select(InboxUpdate.id).where(InboxUpdate.status == "pending"))).scalars().all()
        rows = (
            await session.execute(
                select(Outbox.id, Outbox.status, Outbox.next_attempt_at).where(
                    Outbox.channel == channel, Outbox.status.in_(("pending", "sending", INFLIGHT))
                )  # type: ignore[attr-defined]
            )
        ).all()
    reasons = [f"inbox updates waiting: {list(waiting)}"] if waiting else []
    moving = [(row_id, status) for row_id, status, due in rows if status != "pending" or due <= soon]
    if moving:
        reasons.append(f"{channel} outbox rows due or being sent: {moving}")
    return reasons


async def settle_channel(app: Concierge, channel: str, timeout: float = 30.0) -> None:
    """``tests.quiescence.settle`` for one guest channel: staff alerts, which wait for a Telegram staff chat
    these tests do not start, are not counted."""
    deadline = time.monotonic() + timeout
    reasons: list[str] = []
    while time.monotonic() < deadline:
        reasons = await _busy(app, channel)
        if not reasons:
            await full_round(app.deliverer, timeout=max(1.0, deadline - time.monotonic()))
            reasons = await _busy(app, channel)
            if not reasons:
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not quiescent after {timeout:g} s: {'; '.join(reasons)}")


class Fake(Protocol):
    """What ``exchange`` needs of a fake platform (bot/bench/fake_whatsapp.py, fake_line.py)."""

    def to(self, user: str) -> list[Any]: ...

    async def wait_for(self, condition: Any, timeout: float = 20) -> None: ...


async def exchange(app: Concierge, channel: str, fake: Fake, user: str, delivered: Awaitable[int]) -> list[Any]:
    """Deliver one webhook (``delivered`` is the fake's ``deliver(...)`` call), wait for the answer and for
    the channel to be quiet; returns what the guest received in answer."""
    before = len(fake.to(user))
    assert await delivered == 200
    await fake.wait_for(lambda: len(fake.to(user)) > before)
    await settle_channel(app, channel)
    return fake.to(user)[before:]


def joined_text(messages: list[Any]) -> str:
    return "\n".join(message.text for message in messages)
