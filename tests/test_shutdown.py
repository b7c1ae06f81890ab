"""`concierge run` stops in order on SIGTERM, the signal docker stop and systemd send (not only on Ctrl-C)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import aiohttp

from bot.bench.server import free_port, spawn, wait_healthy


async def _stop_with(signum: int, tmp_path: Path) -> tuple[int, str]:
    port = free_port()
    process = spawn(None, tmp_path / "data", port)
    try:
        await wait_healthy(port, process)
        async with aiohttp.ClientSession() as client:
            async with client.post(f"http://127.0.0.1:{port}/api/chat",
                                   json={"session": "shutdown-test-0001", "text": "早餐几点？"}) as response:
                assert response.status == 200
        process.send_signal(signum)
        code = await asyncio.to_thread(process.wait, 30)
    except BaseException:
        process.kill()
        raise
    finally:
        if process.poll() is None:
            process.kill()
    stderr = (process.stderr.read() if process.stderr else b"").decode(errors="replace")
    return code, stderr


async def test_sigterm_stops_the_service_in_order(tmp_path: Path) -> None:
    code, stderr = await _stop_with(signal.SIGTERM, tmp_path)
    assert code == 0, f"exit {code} on SIGTERM (a negative code is death by the signal):\n{stderr[-2000:]}"
    assert "stopped" in stderr and "Traceback" not in stderr, stderr[-2000:]


async def test_sigint_still_stops_the_service_in_order(tmp_path: Path) -> None:
    code, stderr = await _stop_with(signal.SIGINT, tmp_path)
    assert code == 0 and "Traceback" not in stderr, stderr[-2000:]
