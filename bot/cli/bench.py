"""`concierge bench …`: the benchmarks of docs/BENCHMARKS.md (each lives in bot/bench/)."""

from __future__ import annotations

from typing import Any

from bot.bench.abuse import add_bench_abuse
from bot.bench.campaign import add_bench_campaign
from bot.bench.crash import add_bench_crash
from bot.bench.memory import add_bench_memory
from bot.bench.nlp import add_bench_nlp
from bot.bench.pipeline import add_bench_pipeline
from bot.bench.store import add_bench_store
from bot.bench.telegram import add_bench_telegram


def add_bench_commands(subparsers: Any) -> None:
    bench = subparsers.add_parser("bench", help="benchmarks that print figures")
    bench_sub = bench.add_subparsers(dest="bench_command", required=True)
    for add in (add_bench_nlp, add_bench_pipeline, add_bench_crash, add_bench_telegram, add_bench_store,
                add_bench_memory, add_bench_campaign, add_bench_abuse):
        add(bench_sub)
