"""kill -9 in the middle of a webhook burst (WeChat, WhatsApp, LINE), restart, the platform re-delivers:
every question answered exactly once, as for Telegram (tests/test_crash.py)."""

from __future__ import annotations

import pytest

from bot.bench.webhook_crash import webhook_crash_run
from tests.conftest import CONFIG


@pytest.mark.parametrize("channel", ["wechat", "whatsapp", "line"])
async def test_kill_9_mid_burst_loses_nothing_and_sends_nothing_twice(channel: str, database_url: str | None) -> None:
    report = await webhook_crash_run(
        channel, CONFIG, guests=10, messages=5, kill_at=0.35, database_url=database_url, leases_expire_at_restart=True
    )
    assert 0 < report.killed_after < report.questions, report  # the kill really happened mid-burst
    assert report.duplicates == 0, report
    assert report.lost <= report.unknown <= 2, report  # a send cut off in flight is left for staff, never repeated
