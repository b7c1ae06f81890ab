"""``concierge bench pipeline``: web chat round trips against a separate ``concierge run`` process.

50 simulated guests (default) chat at once over HTTP keep-alive, each pausing a random "think time"
(mean ``--think`` seconds) between messages as people do; every round trip is timed from request to
parsed JSON reply. Goal: p99 < 50 ms on SQLite. ``--think 0`` turns it into a saturation test (closed
loop, no pauses): then latency is queueing time and the figure to read is the throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bot.bench.server import MESSAGES, UNLIMITED_CLIENTS, free_port, percentile, spawn, stop, wait_healthy


def add_bench_pipeline(bench_subparsers: Any) -> None:
    bench = bench_subparsers.add_parser("pipeline", help="web chat round-trip latency at N concurrent guests")
    bench.add_argument("--guests", type=int, default=50)
    bench.add_argument("--messages", type=int, default=20, help="per guest (the flood limit is 20 a minute)")
    bench.add_argument("--think", type=float, default=3.0, help="mean seconds between a guest's messages")
    bench.set_defaults(func=lambda args: asyncio.run(run(args)))


async def _guest(
    client: aiohttp.ClientSession, url: str, number: int, count: int, timings: list[float], think: float = 0.0
) -> int:
    errors = 0
    pause = random.Random(number)
    for index in range(count):
        if think:
            await asyncio.sleep(pause.uniform(0, 2 * think))
        text = MESSAGES[(number + index) % len(MESSAGES)]
        started = time.perf_counter()
        async with client.post(url, json={"session": f"bench{number}", "text": text}) as response:
            body = await response.json()
        timings.append(time.perf_counter() - started)
        errors += response.status != 200 or not body.get("replies")
    return errors


async def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="concierge-bench-") as tmp:
        port = free_port()
        process = spawn(args.config, Path(tmp), port, UNLIMITED_CLIENTS)
        try:
            startup = await wait_healthy(port, process)
            url = f"http://127.0.0.1:{port}/api/chat"
            connector = aiohttp.TCPConnector(limit=args.guests)
            async with aiohttp.ClientSession(connector=connector) as client:
                await _guest(client, url, -1, 5, [])  # warm-up: first analysis, first writes
                timings: list[float] = []
                started = time.perf_counter()
                errors = sum(await asyncio.gather(
                    *(_guest(client, url, number, args.messages, timings, args.think) for number in range(args.guests))
                ))
                elapsed = time.perf_counter() - started
        finally:
            stop(process)
    timings.sort()
    total = len(timings)
    offered = f"think time {args.think:g} s (~{args.guests / args.think:.0f} msg/s offered)" if args.think else "no think time (saturation)"
    print(f"concierge bench pipeline — {args.guests} concurrent guests × {args.messages} messages, {offered}, SQLite, web chat API")
    print(f"  server start-up to healthy: {startup:.2f} s")
    print(f"  round trips: {total}, errors: {errors}, wall time {elapsed:.2f} s, throughput {total / elapsed:.0f} msg/s")
    print(
        "  latency ms: p50 {:.1f}  p95 {:.1f}  p99 {:.1f}  max {:.1f}   (goal p99 < 50)".format(
            *(1000 * percentile(timings, q) for q in (0.50, 0.95, 0.99, 1.0))
        )
    )
    return 0 if errors == 0 else 1
