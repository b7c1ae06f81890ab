"""Waiting until the bot has nothing left to do, so a test can then assert that something happened once.

A fixed ``sleep`` before counting messages ("a duplicate would arrive now") only looks inside that window:
a duplicate sent a moment later passes, and on a slow machine the window can end before the first send.
Instead, :func:`settle` waits until everything that could still produce a message is finished, as the
store and the fake Bot API show it:

* every update pushed to the fake Bot API has been confirmed by the poller (it confirms only what it has
  committed to the inbox),
* the inbox has no update waiting to be processed (processing marks it done in the transaction that
  queues its answers),
* the outbox has no row being sent (``sending``, ``inflight``) and none that falls due within
  ``horizon`` seconds (a retry, a row released by a recovery),

and then that every deliverer has completed a whole round that *started* after that was seen, and it is
still so. Whatever was going to be sent has been; a row put back in the queue (a duplicate in the making)
keeps the bot busy until it has gone out, and the test's count sees it.

:func:`full_round` alone is for tests of rows the sender must *not* take: once it returns, the sender has
looked at the queue (and left the row) at least once since the call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlmodel import select

from bot.app import Concierge
from bot.bench.fake_bot_api import FakeBotApi
from bot.delivery import Deliverer
from crm.models import InboxUpdate, Outbox
from crm.outbox import INFLIGHT
from crm.types import utcnow


class _Rounds:
    """Counts a deliverer's rounds by wrapping ``drain_once`` on the instance (its loop looks the method up
    on every round, so the wrapper is used from the next round on)."""

    def __init__(self, deliverer: Deliverer) -> None:
        self.started = 0
        self.finished = 0  # the highest round number that completed without an error
        self.changed = asyncio.Event()
        original: Callable[[], Awaitable[int]] = deliverer.drain_once

        async def counted() -> int:
            self.started += 1
            number = self.started
            handled = await original()
            self.finished = max(self.finished, number)
            self.changed.set()
            return handled

        deliverer.drain_once = counted  # type: ignore[method-assign]


def _rounds(deliverer: Deliverer) -> _Rounds:
    counter: _Rounds | None = getattr(deliverer, "_test_rounds", None)
    if counter is None:
        counter = _Rounds(deliverer)
        deliverer._test_rounds = counter  # type: ignore[attr-defined]
    return counter


async def full_round(*deliverers: Deliverer, timeout: float = 15.0) -> None:
    """Return once each deliverer has completed a round that began after this call (woken, so it does not
    first sit out its idle poll)."""
    counters = [_rounds(deliverer) for deliverer in deliverers]
    targets = [counter.started + 1 for counter in counters]  # a round in progress now does not count
    deadline = time.monotonic() + timeout
    for deliverer, counter, target in zip(deliverers, counters, targets):
        while counter.finished < target:
            deliverer.wake()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"the sender did not complete a round in {timeout:g} s "
                                     f"(rounds started {counter.started}, last completed {counter.finished})")
            counter.changed.clear()
            try:
                await asyncio.wait_for(counter.changed.wait(), timeout=min(remaining, 0.2))
            except TimeoutError:
                pass


async def busy(app: Concierge, fake: FakeBotApi | None = None, *, horizon: float = 30.0) -> list[str]:
    """What could still lead to a message, or ``[]`` when nothing can (see the module's docstring)."""
    reasons: list[str] = []
    if fake is not None and fake.updates:
        reasons.append(f"{len(fake.updates)} update(s) not yet confirmed to the fake Bot API")
    soon = utcnow() + timedelta(seconds=horizon)
    async with app.db.read() as session:  # the inbox first: its processing commits together with the answers
        waiting = (await session.execute(
            select(InboxUpdate.id).where(InboxUpdate.status == "pending"))).scalars().all()
        rows = (await session.execute(
            select(Outbox.id, Outbox.status, Outbox.next_attempt_at)
            .where(Outbox.status.in_(("pending", "sending", INFLIGHT)))  # type: ignore[attr-defined]
        )).all()
    if waiting:
        reasons.append(f"inbox updates waiting: {list(waiting)}")
    moving = [(row_id, status) for row_id, status, due in rows if status != "pending" or due <= soon]
    if moving:
        reasons.append(f"outbox rows due or being sent: {moving}")
    return reasons


async def settle(*apps: Concierge, fake: FakeBotApi | None = None, timeout: float = 30.0,
                 horizon: float = 30.0) -> None:
    """Wait until the bot (one or more workers on one store) is quiescent: nothing to receive, process or
    send, and each sender has been round once more since. ``horizon``: outbox rows due later than this
    many seconds from now (a campaign row waiting out the guest's night) do not count as work."""
    assert apps, "settle() needs the app(s) whose work to wait for"
    deadline = time.monotonic() + timeout
    reasons: list[str] = []
    while time.monotonic() < deadline:
        reasons = await busy(apps[0], fake, horizon=horizon)
        if not reasons:
            await full_round(*(app.deliverer for app in apps), timeout=max(1.0, deadline - time.monotonic()))
            reasons = await busy(apps[0], fake, horizon=horizon)
            if not reasons:
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not quiescent after {timeout:g} s: {'; '.join(reasons)}")
