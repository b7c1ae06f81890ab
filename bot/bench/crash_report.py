"""What the crash benchmarks share (Telegram's in ``bot.bench.crash``, the webhook channels' in
``bot.bench.webhook_crash``): the questions, the report, the fast configuration, the count of rows left
unknown for staff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import yaml
from sqlalchemy import func, update
from sqlmodel import select

from crm.db import Database
from crm.models import Outbox
from crm.outbox import INFLIGHT
from crm.types import utcnow

QUESTIONS = ["早餐几点？", "wifi password?", "停车场在哪", "有健身房吗", "can I bring my dog?"]


@dataclass(frozen=True)
class CrashReport:
    questions: int
    answers: int
    lost: int
    duplicates: int
    killed_after: int
    seconds: float
    unknown: int  # sends cut off by the kill: marked for staff, never repeated


def fast_config(source: Path, target: Path) -> Path:
    """The hotel's config with every channel's pacing at 30/s and no per-chat gap (one message per chat at
    a time is not what is measured here)."""
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    data.setdefault("telegram", {}).update(rate_limit_per_second=30, rate_limit_per_chat_seconds=0, poll_timeout=2)
    for channel in ("wechat", "whatsapp", "line"):
        data.setdefault(channel, {}).update(rate_limit_per_second=30, rate_limit_per_chat_seconds=0)
    target.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return target


async def unknown_rows(url: str) -> int:
    database = Database(url)
    try:
        async with database.read() as session:
            query = select(func.count()).select_from(Outbox).where(Outbox.status == "unknown")
            return int((await session.execute(query)).scalar_one())
    finally:
        await database.dispose()


async def expire_leases(url: str) -> None:
    """Let a killed process's claims run out now instead of after the 30 s lease: the restarted process then
    recovers them at start-up, the same code (rows that never left go back to pending, in-flight ones
    become unknown for staff)."""
    database = Database(url)
    try:
        async with database.write() as session:
            await session.execute(
                update(Outbox)
                .where(Outbox.status.in_(("sending", INFLIGHT)))  # type: ignore[attr-defined]
                .values(next_attempt_at=utcnow() - timedelta(seconds=1))
            )
    finally:
        await database.dispose()
