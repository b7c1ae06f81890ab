"""`concierge bench nlp`: is keyword understanding cheap next to tokenising alone?

Budget (docs/BENCHMARKS.md): `classify` throughput ≥ 0.8 × bare `jieba.lcut` on the same messages, and start-up
≤ 1.5 s with a warm jieba cache. Start-up is measured in fresh interpreters (imports included), once
with an empty cache directory (cold: jieba builds its prefix dictionary) and once reusing it (warm).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bot.config import load_settings

_REPO = Path(__file__).resolve().parents[2]
_DEFAULT_MESSAGES = _REPO / "tests" / "data" / "nlp_dev.tsv"
_FALLBACK = [
    "明晚还有大床房吗？两个人住两晚", "空调坏了，一直不制冷", "麻烦送两条毛巾到1208", "wifi密码是多少",
    "I'd like a late checkout tomorrow please", "房間的冷氣壞了", "第三次打电话了，空调还是没人来修，太失望了",
    "Can I get an invoice for my stay?", "早餐几点开始", "谢谢你们，房间很干净",
]

_STARTUP = """
import sys, time, json
t0 = time.perf_counter()
from nlp import Analyzer
rooms = json.loads(sys.argv[2])
Analyzer(room_types=rooms, timezone=sys.argv[3], cache_dir=sys.argv[1])
print(time.perf_counter() - t0)
"""


def load_messages(path: Path | None) -> list[str]:
    """Messages from a TSV with a `text` column, or one per line; the built-in sample otherwise."""
    source = path or (_DEFAULT_MESSAGES if _DEFAULT_MESSAGES.is_file() else None)
    if source is None:
        return list(_FALLBACK)
    lines = source.read_text(encoding="utf-8").splitlines()
    if lines and "\t" in lines[0] and "text" in lines[0].split("\t"):
        column = lines[0].split("\t").index("text")
        return [parts[column] for parts in (line.split("\t") for line in lines[1:]) if len(parts) > column and parts[column]]
    return [line for line in lines if line.strip()]


def _rate(func: Callable[[str], Any], messages: Sequence[str], seconds: float) -> float:
    """Messages per second, running whole passes over `messages` for at least `seconds`."""
    for text in messages[:50]:  # warm-up
        func(text)
    count = 0
    start = time.perf_counter()
    elapsed = 0.0
    while elapsed < seconds:
        for text in messages:
            func(text)
        count += len(messages)
        elapsed = time.perf_counter() - start
    return count / elapsed


def _interleaved(funcs: Sequence[Callable[[str], Any]], messages: Sequence[str], seconds: float) -> list[list[float]]:
    """Messages per second of each function, pass by pass, alternating the functions.

    Why: the machine is shared (tests, other services); timing one side for seconds and then the other
    lets a burst of load land on one side only. Alternating short passes exposes both to the same load,
    and the median of the per-pass ratios ignores the passes a burst did hit.
    """
    for func in funcs:
        for text in messages[:50]:  # warm-up
            func(text)
    rates: list[list[float]] = [[] for _ in funcs]
    deadline = time.perf_counter() + seconds * len(funcs)
    while time.perf_counter() < deadline or len(rates[0]) < 5:
        for index, func in enumerate(funcs):
            start = time.perf_counter()
            for text in messages:
                func(text)
            rates[index].append(len(messages) / (time.perf_counter() - start))
    return rates


def _startup(cache_dir: Path, rooms: dict[str, list[str]], tz: str) -> float:
    result = subprocess.run(
        [sys.executable, "-c", _STARTUP, str(cache_dir), json.dumps(rooms, ensure_ascii=False), tz],
        capture_output=True, text=True, check=True, cwd=str(_REPO),
    )
    return float(result.stdout.strip().splitlines()[-1])


def run_bench(args: argparse.Namespace) -> int:
    import jieba

    from bot.nlp_setup import build_analyzer, room_synonyms

    settings = load_settings(args.config)
    messages = load_messages(args.file)
    rooms = room_synonyms(settings)
    with tempfile.TemporaryDirectory(prefix="concierge-bench-") as tmp:
        cold = _startup(Path(tmp), rooms, settings.hotel.timezone)
        warm = min(_startup(Path(tmp), rooms, settings.hotel.timezone) for _ in range(3))

    analyzer = build_analyzer(settings)
    jieba.setLogLevel(60)
    jieba.initialize()
    now = datetime.now(timezone.utc)
    jieba_rates, classify_rates = _interleaved([jieba.lcut, lambda text: analyzer.analyze(text, now)], messages,
                                               args.seconds)
    jieba_rate = statistics.median(jieba_rates)
    classify_rate = statistics.median(classify_rates)
    ratio = statistics.median(c / j for c, j in zip(classify_rates, jieba_rates))
    figures = {
        "messages": len(messages),
        "jieba_lcut_per_s": round(jieba_rate, 1),
        "classify_per_s": round(classify_rate, 1),
        "ratio": round(ratio, 3),
        "passes": len(classify_rates),
        "startup_cold_s": round(cold, 3),
        "startup_warm_s": round(warm, 3),
        "goal_ratio": 0.8,
        "goal_warm_s": 1.5,
    }
    if args.json:
        print(json.dumps(figures))
    else:
        print(f"messages            {len(messages)} (each pass)")
        print(f"jieba.lcut           {jieba_rate:10.1f} msg/s")
        print(f"nlp classify         {classify_rate:10.1f} msg/s")
        print(f"ratio                {ratio:10.3f}   (goal >= 0.8)  {'OK' if ratio >= 0.8 else 'MISSED'}"
              f"   median of {len(classify_rates)} alternating passes")
        print(f"start-up cold        {cold:10.3f} s")
        print(f"start-up warm        {warm:10.3f} s   (goal <= 1.5)  {'OK' if warm <= 1.5 else 'MISSED'}")
    return 0


def add_bench_nlp(bench_subparsers: Any) -> None:
    """Register `bench nlp`."""
    bench = bench_subparsers.add_parser("nlp", help="classify throughput vs bare jieba.lcut, and start-up time")
    bench.add_argument("--file", type=Path, default=None, help="messages: a TSV with a 'text' column or plain lines")
    bench.add_argument("--seconds", type=float, default=3.0, help="time spent measuring each side")
    bench.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    bench.set_defaults(func=run_bench)
