"""``concierge bench abuse``: the attacks of issue 13 against a separate ``concierge run`` on loopback.

Three scenarios, each on a fresh data dir, bounded in count and time, loopback traffic only:

- **login flood** — guests chat on ``/api/chat`` (p50/p95), first alone, then while ``--attackers`` clients
  send ``--logins`` staff logins with random names from random addresses (told by X-Forwarded-For through
  a trusted proxy on loopback: a botnet, so the per-address throttle does not simply stop it). Goal: p95
  under the flood ≤ 3 × the p95 without, and < 100 ms.
- **hand-off storm** — ``--storm`` new web sessions (each from its own address) ask for a person, making as
  many tickets and staff alerts, while Telegram guests (through the fake Bot API) ask a question every
  0.5 s; prints the delay of their replies (goal ≤ 2 s), what reached the staff group (within its rate:
  ``limits.staff_alerts_per_window`` cards per window, then one digest) and whether the dashboard counts
  every ticket. The digest window is set to one minute here so the digest can be seen.
- **chat flood** — ``--attackers`` connections from one address post 2 000-character messages on a few
  sessions of their own as fast as they are answered, while guests chat; prints the guests' p50/p95 without
  and during the flood and what the attacker got through.
- **duplicates** — a primary and a ``--worker`` process on one store send ``--rows`` staff notices to a
  group paced 3 s apart (longer than the 30 s lease); counts messages sent twice (goal 0).

``--server-pythonpath DIR`` runs the server from another source tree (e.g. ``git archive`` of an older
commit) to measure the behaviour before a change with the same load.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from sqlalchemy import func
from sqlmodel import select

from bot.bench.fake_bot_api import FakeBotApi
from bot.bench.server import MESSAGES, free_port, percentile, spawn, stop, wait_healthy
from bot.config import config_path, load_settings
from crm.db import Database
from crm.models import Outbox, Ticket
from crm.staff import add_staff

STAFF_CHAT = -100_900
MANAGER, PASSWORD = "bench.manager", "bench manager password"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def add_bench_abuse(bench_subparsers: Any) -> None:
    bench = bench_subparsers.add_parser("abuse", help="login flood, hand-off storm, double sends (issue 13)")
    bench.add_argument("--only", choices=("login", "chat", "storm", "duplicates"), help="run one scenario")
    bench.add_argument("--guests", type=int, default=10, help="web guests chatting during the login flood")
    bench.add_argument("--messages", type=int, default=20, help="per guest in the calm phase")
    bench.add_argument("--attackers", type=int, default=8)
    bench.add_argument("--logins", type=int, default=200, help="login attempts in the flood (at most)")
    bench.add_argument("--flood-seconds", type=float, default=40, help="the flood stops after this long")
    bench.add_argument("--storm", type=int, default=1000, help="hand-off tickets in the storm")
    bench.add_argument("--rows", type=int, default=15, help="staff notices for the duplicate check (3 s apart)")
    bench.add_argument("--server-pythonpath", type=Path, help="run the server from this source tree")
    bench.set_defaults(func=lambda args: asyncio.run(run(args)))


def _address(rng: random.Random) -> str:
    return f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def _spawn(args: argparse.Namespace, config: Path | None, data_dir: Path, port: int, extra: dict[str, str] | None = None,
           run_args: tuple[str, ...] = ()) -> subprocess.Popen[bytes]:
    """The server under test: ours, or the tree of ``--server-pythonpath`` (run from there: ``python -m``
    puts the working directory first on the path)."""
    env = {"CONCIERGE_HTTP_TRUSTED_PROXIES": "127.0.0.1", **(extra or {})}
    source = args.server_pythonpath.resolve() if args.server_pythonpath else None
    if source is not None:
        env["PYTHONPATH"] = str(source)
        config = config.resolve() if config else None
    return spawn(config, data_dir, port, env, run_args, cwd=source)


def _telegram_env(fake: FakeBotApi) -> dict[str, str]:
    return {"TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_API_BASE_URL": fake.base_url,
            "CONCIERGE_TELEGRAM_STAFF_CHAT_ID": str(STAFF_CHAT)}


async def _seed(data_dir: Path, action: Callable[[Any], Awaitable[None]]) -> None:
    """Write to the running server's store (it has migrated it by then)."""
    db = Database(f"sqlite+aiosqlite:///{data_dir / 'concierge.db'}")
    try:
        async with db.write() as session:
            await action(session)
    finally:
        await db.dispose()


async def _count(data_dir: Path, query: Any) -> Any:
    db = Database(f"sqlite+aiosqlite:///{data_dir / 'concierge.db'}")
    try:
        async with db.read() as session:
            return (await session.execute(query)).all()
    finally:
        await db.dispose()


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    return f"p50 {1000 * percentile(ordered, 0.5):.1f} ms, p95 {1000 * percentile(ordered, 0.95):.1f} ms"


# --- login flood ---------------------------------------------------------------------------------------------
async def _guest(client: aiohttp.ClientSession, url: str, number: int, timings: list[float],
                 keep_going: Callable[[int], bool]) -> None:
    sent = 0
    while keep_going(sent):
        started = time.perf_counter()
        async with client.post(url, json={"session": f"calm{number}", "text": MESSAGES[(number + sent) % len(MESSAGES)]}) as response:
            await response.read()
        timings.append(time.perf_counter() - started)
        sent += 1
        await asyncio.sleep(0.2)


async def _guests_calm_then_during(args: argparse.Namespace, url: str,
                                   attack: Callable[[float], Awaitable[Any]]) -> tuple[list[float], list[float], float]:
    """Guests' round trips alone, then while ``attack(deadline)`` runs (until it ends or the deadline); and
    how long the attack ran."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as guests:
        await asyncio.gather(*(_guest(guests, url, n, [], lambda sent: sent < 3) for n in range(args.guests)))
        calm: list[float] = []
        await asyncio.gather(*(_guest(guests, url, n, calm, lambda sent: sent < args.messages) for n in range(args.guests)))
        during: list[float] = []
        started = time.perf_counter()
        deadline = started + args.flood_seconds
        attacking = asyncio.ensure_future(attack(deadline))
        await asyncio.gather(*(_guest(guests, url, n, during,
                                      lambda sent: not attacking.done() and time.perf_counter() < deadline)
                               for n in range(args.guests)))
        await attacking
    return calm, during, time.perf_counter() - started


async def _attacker(base: str, attempts: list[int], rng: random.Random, outcomes: Counter[int], until: float) -> None:
    """One client (its own login cookie) sending login attempts until the shared count runs out."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        async with client.get(base + "/staff/login") as response:
            match = _CSRF.search(await response.text())
        token = match.group(1) if match else ""
        while attempts[0] > 0 and time.perf_counter() < until:
            attempts[0] -= 1
            data = {"csrf": token, "name": f"user{rng.randrange(10**9)}", "password": "guess guess guess"}
            async with client.post(base + "/staff/login", data=data, headers={"X-Forwarded-For": _address(rng)},
                                   allow_redirects=False) as response:
                match = _CSRF.search(await response.text())  # each answer's form carries a fresh token
            token = match.group(1) if match else token
            outcomes[response.status] += 1


@asynccontextmanager
async def _server(args: argparse.Namespace) -> AsyncIterator[str]:
    """A ``concierge run`` on a fresh data dir for one scenario; yields its base URL."""
    with tempfile.TemporaryDirectory(prefix="concierge-abuse-") as tmp:
        port = free_port()
        process = _spawn(args, args.config, Path(tmp), port)
        try:
            await wait_healthy(port, process)
            yield f"http://127.0.0.1:{port}"
        finally:
            stop(process)


async def login_flood(args: argparse.Namespace) -> None:
    async with _server(args) as base:
        outcomes: Counter[int] = Counter()
        attempts, rng = [args.logins], random.Random(13)
        calm, flood, took = await _guests_calm_then_during(args, base + "/api/chat", lambda deadline: asyncio.gather(
            *(_attacker(base, attempts, rng, outcomes, deadline) for _ in range(args.attackers))))
    calm_p95, flood_p95 = percentile(sorted(calm), 0.95), percentile(sorted(flood), 0.95)
    print(f"  login flood: {args.attackers} clients, {sum(outcomes.values())} logins (random names and addresses; at most "
          f"{args.logins} or {args.flood_seconds:g} s) in {took:.1f} s "
          f"({sum(outcomes.values()) / took:.1f}/s); answers {dict(sorted(outcomes.items()))}")
    print(f"    guest /api/chat without the flood: {_ms(calm)} ({len(calm)} round trips)")
    print(f"    guest /api/chat during the flood:  {_ms(flood)} ({len(flood)} round trips); "
          f"p95 ratio {flood_p95 / calm_p95:.2f} (goal ≤ 3 and < 100 ms)")


# --- chat flood ----------------------------------------------------------------------------------------------
async def _flooder(client: aiohttp.ClientSession, url: str, number: int, until: float, outcomes: Counter[int]) -> None:
    sent = 0
    while time.perf_counter() < until:
        sent += 1
        payload = {"session": f"flooder-session-{number % 3}", "text": "x" * 2000 + str(sent)}
        async with client.post(url, json=payload, headers={"X-Forwarded-For": "203.0.113.66"}) as response:
            await response.read()
        outcomes[response.status] += 1


async def chat_flood(args: argparse.Namespace) -> None:
    async with _server(args) as base, aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as client:
        url, outcomes = base + "/api/chat", Counter[int]()
        calm, during, _ = await _guests_calm_then_during(args, url, lambda deadline: asyncio.gather(
            *(_flooder(client, url, n, deadline, outcomes) for n in range(args.attackers))))
    print(f"  chat flood: {args.attackers} connections from one address, 3 sessions, 2 000-character messages for "
          f"{args.flood_seconds:g} s: {sum(outcomes.values()) / args.flood_seconds:.0f} msg/s answered "
          f"{dict(sorted(outcomes.items()))}")
    print(f"    guest /api/chat without the flood: {_ms(calm)} ({len(calm)} round trips)")
    print(f"    guest /api/chat during the flood:  {_ms(during)} ({len(during)} round trips)")


# --- hand-off storm ------------------------------------------------------------------------------------------
async def _handoff(client: aiohttp.ClientSession, url: str, number: int, rng: random.Random) -> int:
    body = {"session": f"storm{number}", "text": f"转人工，房间{1000 + number % 900}的空调坏了"}
    async with client.post(url, json=body, headers={"X-Forwarded-For": _address(rng)}) as response:
        await response.read()
        return response.status


async def _probe(fake: FakeBotApi, delays: list[float], stop_probing: asyncio.Event) -> list[asyncio.Task[None]]:
    """A new Telegram guest asks a question every 0.5 s until told to stop; returns the waits for replies."""
    waits: list[asyncio.Task[None]] = []
    number = 0
    while not stop_probing.is_set():
        chat = 900_000 + number
        number += 1
        pushed = time.monotonic()
        fake.push_text(chat, "早餐几点？")
        waits.append(asyncio.create_task(_reply_delay(fake, chat, pushed, delays)))
        await asyncio.sleep(0.5)
    return waits


async def _reply_delay(fake: FakeBotApi, chat: int, pushed: float, delays: list[float]) -> None:
    try:
        await fake.wait_for(lambda: fake.to_chat(chat), timeout=120)
    except AssertionError:
        delays.append(float("inf"))
        return
    delays.append(fake.to_chat(chat)[0].at - pushed)


async def _dashboard_open(base: str) -> int | None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(base + "/staff/login") as response:
            match = _CSRF.search(await response.text())
        if match is None:
            return None
        async with http.post(base + "/staff/login", data={"csrf": match.group(1), "name": MANAGER, "password": PASSWORD}):
            pass
        async with http.get(base + "/staff/lang?to=en"):
            pass
        async with http.get(base + "/staff/tickets?status=open") as response:
            page = await response.text()
    found = re.search(r"Open\s*<b>(\d+)</b>", page)
    return int(found.group(1)) if found else None


async def storm(args: argparse.Namespace) -> None:
    fake = FakeBotApi()
    await fake.start()
    with tempfile.TemporaryDirectory(prefix="concierge-abuse-") as tmp:
        data_dir = Path(tmp)
        config = args.config
        if not args.server_pythonpath:  # a one-minute digest window, so the digest is seen within the bench
            raw = yaml.safe_load(config_path(args.config).read_text(encoding="utf-8"))
            raw.setdefault("limits", {})["staff_digest_minutes"] = 1
            config = data_dir / "config.yaml"
            config.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
        budget = load_settings(config, env={"CONCIERGE_DATA_DIR": tmp}).limits.staff_alerts_per_window \
            if not args.server_pythonpath else None
        port = free_port()
        process = _spawn(args, config, data_dir, port, _telegram_env(fake))
        try:
            await wait_healthy(port, process)
            await _seed(data_dir, lambda session: add_staff(session, MANAGER, "manager", PASSWORD))
            base = f"http://127.0.0.1:{port}"
            stop_probing = asyncio.Event()
            delays: list[float] = []
            probing = asyncio.create_task(_probe(fake, delays, stop_probing))
            rng = random.Random(7)
            started = time.perf_counter()
            statuses: Counter[int] = Counter()
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=16)) as client:
                for batch in range(0, args.storm, 16):
                    results = await asyncio.gather(*(_handoff(client, base + "/api/chat", n, rng)
                                                     for n in range(batch, min(batch + 16, args.storm))))
                    statuses.update(results)
            storm_seconds = time.perf_counter() - started
            await asyncio.sleep(5)  # the probes keep going while the alerts are being sent
            stop_probing.set()
            await asyncio.gather(*await probing)
            storm_end = time.monotonic()
            wanted = min(args.storm, budget or 20)
            try:  # the cards the staff group gets within its rate (3 s apart)
                await fake.wait_for(lambda: len(fake.to_chat(STAFF_CHAT)) >= wanted, timeout=3.2 * wanted + 10)
            except AssertionError:
                pass
            during = [m for m in fake.to_chat(STAFF_CHAT)]
            digest_seen = False
            if budget:
                try:  # the digest, at the end of its one-minute window
                    await fake.wait_for(lambda: any("/staff/tickets" in m.text for m in fake.to_chat(STAFF_CHAT)), timeout=75)
                    digest_seen = True
                except AssertionError:
                    pass
            tickets = (await _count(data_dir, select(func.count()).select_from(Ticket)))[0][0]
            by_status = dict((await _count(data_dir, select(Outbox.status, func.count()).where(
                Outbox.channel == "staff").group_by(Outbox.status))))
            on_dashboard = await _dashboard_open(base)
        finally:
            stop(process)
            await fake.stop()
    staff_times = [m.at for m in fake.to_chat(STAFF_CHAT)]
    per_minute = max((sum(1 for t in staff_times if start <= t < start + 60) for start in staff_times), default=0)
    digest = next((m.text for m in fake.to_chat(STAFF_CHAT) if "/staff/tickets" in m.text), "")
    finite = sorted(d for d in delays if d != float("inf"))
    print(f"  hand-off storm: {args.storm} new web sessions from as many addresses in {storm_seconds:.1f} s, "
          f"answers {dict(sorted(statuses.items()))}; {tickets} tickets created")
    print(f"    Telegram guest reply delay during the storm: {len(delays)} probes, p50 {percentile(finite, 0.5):.2f} s, "
          f"p95 {percentile(finite, 0.95):.2f} s, max {max(finite, default=float('nan')):.2f} s, "
          f"unanswered {len(delays) - len(finite)} (goal ≤ 2 s)")
    print(f"    staff group: {len(during)} messages by {time.monotonic() - storm_end:.0f} s after the storm, "
          f"most in any minute {per_minute} (Telegram allows 20); outbox staff rows by status {by_status}")
    if budget:
        print(f"    digest posted: {'yes' if digest_seen else 'no'} — {digest[:160]!r}")
    print(f"    dashboard 'Open' count: {on_dashboard} of {tickets} tickets")


# --- duplicates across two workers ---------------------------------------------------------------------------
async def duplicates(args: argparse.Namespace) -> None:
    fake = FakeBotApi()
    await fake.start()
    with tempfile.TemporaryDirectory(prefix="concierge-abuse-") as tmp:
        data_dir = Path(tmp)
        env = _telegram_env(fake)
        primary_port, worker_port = free_port(), free_port()
        primary = _spawn(args, args.config, data_dir, primary_port, env)
        worker = None
        try:
            await wait_healthy(primary_port, primary)  # migrated before the worker starts
            worker = _spawn(args, args.config, data_dir, worker_port, env, run_args=("--worker",))
            await wait_healthy(worker_port, worker)

            async def notices(session: Any) -> None:
                session.add_all(Outbox(channel="staff", chat_id=str(STAFF_CHAT), kind="staff", text=f"notice {n}")
                                for n in range(args.rows))

            await _seed(data_dir, notices)
            started = time.perf_counter()
            try:
                await fake.wait_for(lambda: len(fake.to_chat(STAFF_CHAT)) >= args.rows, timeout=3.5 * args.rows + 60)
            except AssertionError:
                pass
            took = time.perf_counter() - started
            await asyncio.sleep(15)  # past another lease and recovery round: a re-queued row would go out now
            left = dict(await _count(data_dir, select(Outbox.status, func.count()).group_by(Outbox.status)))
        finally:
            if worker is not None:
                stop(worker)
            stop(primary)
            await fake.stop()
    sent = Counter(m.text for m in fake.to_chat(STAFF_CHAT))
    twice = sum(count - 1 for count in sent.values() if count > 1)
    print(f"  two workers, {args.rows} staff notices paced 3 s apart ({3 * args.rows} s, lease 30 s): "
          f"{sum(sent.values())} sent in {took:.0f} s, {len(sent)} distinct, duplicates {twice} (goal 0); "
          f"outbox by status {left}")


async def run(args: argparse.Namespace) -> int:
    source = f" (server from {args.server_pythonpath})" if args.server_pythonpath else ""
    print(f"concierge bench abuse — attacks of issue 13 against concierge run on loopback{source}")
    scenarios = {"login": login_flood, "chat": chat_flood, "storm": storm, "duplicates": duplicates}
    for name, scenario in scenarios.items():
        if args.only in (None, name):
            await scenario(args)
    return 0
