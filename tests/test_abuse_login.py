"""Staff login under attack (issue 13, items 1-2): a login flood does not stall guests, guessing is slowed
per normalised name and per client address, the owner is slowed down but never locked out, and the
throttle's memory stays bounded without forgetting everyone at once."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
from argon2 import PasswordHasher

from bot.app import Concierge
from bot.staff.auth import THROTTLE_KEY, LoginThrottle
from crm import staff
from nlp import Analyzer
from tests.conftest import SettingsFactory
from tests.staff_helpers import AGENT, MANAGER, PASSWORD, add_team, base, client, csrf_of, say


class SlowHasher(PasswordHasher):
    """argon2 whose verification holds its thread until the test releases it (or 3 s pass): a stand-in
    for full-cost argon2 that lets the test see what else can happen while checks are running."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.started = self.running = self.most_running = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # noqa: A002 (argon2's own name)
        with self.lock:
            self.started += 1
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        try:
            self.release.wait(3.0)
            return super().verify(hash, password)
        finally:
            with self.lock:
                self.running -= 1


@pytest.fixture
def slow_hasher() -> Iterator[SlowHasher]:
    hasher = SlowHasher()
    previous = staff.use_hasher(hasher)
    try:
        yield hasher
    finally:
        hasher.release.set()
        staff.use_hasher(previous)


async def _bot(make_settings: SettingsFactory, analyzer: Analyzer, **limits: int) -> Concierge:
    settings = make_settings(CONCIERGE_HTTP_TRUSTED_PROXIES="127.0.0.1")
    settings = settings.model_copy(update={"limits": settings.limits.model_copy(update=limits)})
    app = Concierge(settings, analyzer=analyzer)
    await app.start()
    await add_team(app)
    return app


@pytest.fixture
async def bot(make_settings: SettingsFactory, analyzer: Analyzer) -> AsyncIterator[Concierge]:
    app = await _bot(make_settings, analyzer)
    try:
        yield app
    finally:
        await app.stop()


async def _login(http: aiohttp.ClientSession, app: Concierge, name: str, password: str,
                 address: str | None = None) -> aiohttp.ClientResponse:
    """Log in as a client at ``address`` (told by the trusted proxy on loopback)."""
    headers = {"X-Forwarded-For": address} if address else {}
    async with http.get(base(app) + "/staff/login") as response:
        token = csrf_of(await response.text())
    async with http.post(base(app) + "/staff/login", data={"csrf": token, "name": name, "password": password},
                         headers=headers, allow_redirects=False) as response:
        await response.read()
        return response


async def test_a_login_flood_does_not_stall_guests(bot: Concierge, slow_hasher: SlowHasher) -> None:
    """Without the fix each check ran on the event loop inside the write transaction: the guest's answer
    came only after the checks in front of it had finished."""
    async with client() as http:
        await say(http, bot, "warm", "你好")  # first analysis and writes out of the way
        done: list[int] = []

        async def attacker(number: int) -> int:
            response = await _login(http, bot, f"nobody{number}", "guess guess")
            done.append(response.status)
            return response.status

        flood = [asyncio.create_task(attacker(n)) for n in range(6)]
        checks = bot.web_app[THROTTLE_KEY].checks
        while (slow_hasher.started < 1 or checks.queued < 5) and not all(task.done() for task in flood):
            await asyncio.sleep(0.01)  # one check under way, the others waiting for it
        answer = await say(http, bot, "guest-during-flood", "早餐几点？")
        finished_before_guest = len(done)
        slow_hasher.release.set()
        statuses = await asyncio.gather(*flood)
    assert answer["replies"], "the guest got an answer"
    assert finished_before_guest == 0, "the guest waited for the password checks"
    assert slow_hasher.started == 6, "unknown names still cost a password check (no timing oracle)"
    assert slow_hasher.most_running <= bot.settings.limits.login_verifications
    assert statuses == [401] * 6


async def test_checks_beyond_the_queue_get_429_with_retry_after(
    make_settings: SettingsFactory, analyzer: Analyzer, slow_hasher: SlowHasher
) -> None:
    app = await _bot(make_settings, analyzer, login_verifications=1, login_waiting=1)
    try:
        async with client() as http:
            running = asyncio.create_task(_login(http, app, "x1", "guess guess", "10.0.0.1"))
            while slow_hasher.started < 1:
                await asyncio.sleep(0.01)
            waiting = asyncio.create_task(_login(http, app, "x2", "guess guess", "10.0.0.2"))
            while app.web_app[THROTTLE_KEY].checks.queued < 1:
                await asyncio.sleep(0.01)
            refused = await _login(http, app, "x3", "guess guess", "10.0.0.3")
            slow_hasher.release.set()
            assert refused.status == 429 and int(refused.headers["Retry-After"]) >= 1
            assert {(await running).status, (await waiting).status} == {401}
    finally:
        await app.stop()


async def test_spellings_of_one_name_share_its_counter_and_the_owner_gets_in_after_the_wait(bot: Concierge) -> None:
    now = [1000.0]
    throttle = bot.web_app[THROTTLE_KEY]
    throttle.by_name.clock = throttle.by_address.clock = lambda: now[0]
    spellings = [AGENT, f"{AGENT}  ", f"\u2003{AGENT}", AGENT.upper(), "\uff4c\uff49.na"]  # full-width "li"
    async with client() as http:
        for number, spelling in enumerate(spellings):  # five wrong guesses, from five addresses
            assert (await _login(http, bot, spelling, "wrong wrong", f"10.1.0.{number}")).status == 401
        blocked = await _login(http, bot, f"{AGENT}\t", PASSWORD, "10.1.0.9")
        assert blocked.status == 429 and int(blocked.headers["Retry-After"]) >= 1
        now[0] += int(blocked.headers["Retry-After"])  # slowed down, not locked out: after the wait it works
        assert (await _login(http, bot, f"\u2003{AGENT} ", PASSWORD, "10.1.0.9")).status == 303
    async with client() as http:
        assert (await _login(http, bot, AGENT, "wrong wrong", "10.1.0.8")).status == 401  # counter reset


async def test_guesses_sent_at_once_are_counted_before_they_are_checked(bot: Concierge, slow_hasher: SlowHasher) -> None:
    """Each try was counted only after its check: twelve guesses sent together all found the name's counter
    at zero and all reached the password check, so a script guessed a queue-full at a time instead of being
    slowed after the free failures."""
    free = bot.settings.limits.login_free_failures_per_name
    async with client() as http:
        guesses = [asyncio.create_task(_login(http, bot, AGENT, f"guess {n}", f"10.2.0.{n}")) for n in range(12)]
        while sum(not task.done() for task in guesses) > free and not all(task.done() for task in guesses):
            await asyncio.sleep(0.01)
        slow_hasher.release.set()
        statuses = [response.status for response in await asyncio.gather(*guesses)]
        assert slow_hasher.started <= free
        assert statuses.count(401) == free and statuses.count(429) == 12 - free
        now = [0.0]
        throttle = bot.web_app[THROTTLE_KEY]
        throttle.by_name.clock = throttle.by_address.clock = lambda: now[0] + 10_000  # long after the wait
        assert (await _login(http, bot, AGENT, PASSWORD, "10.2.0.99")).status == 303  # the owner still gets in


async def test_one_address_guessing_many_names_is_slowed(bot: Concierge) -> None:
    now = [1000.0]
    throttle = bot.web_app[THROTTLE_KEY]
    throttle.by_name.clock = throttle.by_address.clock = lambda: now[0]
    free = bot.settings.limits.login_free_failures_per_address
    async with client() as http:
        for number in range(free):
            assert (await _login(http, bot, f"random{number}", "guess guess", "203.0.113.7")).status == 401
        refused = await _login(http, bot, "random-next", "guess guess", "203.0.113.7")
        assert refused.status == 429 and "Retry-After" in refused.headers
        assert (await _login(http, bot, MANAGER, PASSWORD, "198.51.100.1")).status == 303  # others unaffected


def test_the_throttle_forgets_the_oldest_names_one_at_a_time(bot: Concierge) -> None:
    """The old table was wiped whole at 10 000 names: a flood of random names reset the counter of the one
    under attack. Now the names touched longest ago go first, and the attacked name stays counted."""
    now = [1000.0]
    throttle = LoginThrottle(bot.settings.limits, clock=lambda: now[0])
    for _ in range(10):
        throttle.failed("wang.jl", "198.51.100.9")
    for number in range(12_000):
        throttle.failed(f"random{number}", f"203.0.{number // 250}.{number % 250}")
        if number % 1000 == 0:
            throttle.failed("wang.jl", "198.51.100.9")
    assert throttle.wait("wang.jl", "192.0.2.1") > 0
    assert len(throttle.by_name) <= 10_000 and len(throttle.by_address) <= 10_000
