"""Helpers for benchmarks that run Concierge as a separate process, as in production."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def spawn(config: Path | None, data_dir: Path, port: int, extra_env: dict[str, str] | None = None,
          run_args: tuple[str, ...] = (), cwd: Path | None = None) -> subprocess.Popen[bytes]:
    """``concierge run`` on a fresh data dir, web chat only (no Telegram token is passed on unless in
    ``extra_env``); ``run_args`` e.g. ``("--worker",)``; ``cwd`` a source tree to run instead of ours."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("TELEGRAM_", "CONCIERGE_"))}
    env.update({"CONCIERGE_DATA_DIR": str(data_dir), "CONCIERGE_HTTP_PORT": str(port), "CONCIERGE_HTTP_HOST": "127.0.0.1"})
    env.update(extra_env or {})
    command = [sys.executable, "-m", "bot.cli", *(["--config", str(config)] if config else []), "run", *run_args]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cwd)


async def wait_healthy(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> float:
    """Seconds until /healthz answered; raises with the server's stderr if it died."""
    started = time.perf_counter()
    async with aiohttp.ClientSession() as client:
        while time.perf_counter() - started < timeout:
            if process.poll() is not None:
                raise RuntimeError(f"server exited: {(process.stderr.read() if process.stderr else b'').decode()[-2000:]}")
            try:
                async with client.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return time.perf_counter() - started
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError("server did not become healthy")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


def rss_mb(pid: int) -> float:
    """Resident set size of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


# Simulated guests all come from loopback, each standing for a client of its own: the per-address limits off.
UNLIMITED_CLIENTS = {"CONCIERGE_LIMITS_WEB_SESSIONS_PER_MINUTE": "0", "CONCIERGE_LIMITS_WEB_MESSAGES_PER_SECOND": "0"}

MESSAGES = [
    "早餐几点开始？",
    "wifi password?",
    "请送两条毛巾到 1208",
    "停車場在哪裡？",
    "Can I get a late checkout tomorrow?",
    "你好",
    "空调不制冷，房间 906",
    "有健身房吗",
    "thanks, the room is lovely",
    "机场接送怎么预约",
]
