"""Runs a campaign: planner items → contact rules → outbox rows, in committed batches.

Idempotent by construction: every row carries a unique dedupe key, so running the same sweep twice, or
again after a crash between two batches, queues nobody twice and skips nobody (the second run writes
exactly the rows the first did not commit). What was sent is read from the outbox, never remembered here.
"""

from __future__ import annotations

import logging
import time as clock_time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm import campaigns as store
from crm.db import Database
from crm.models import Outbox, StayPreparation, Survey
from crm.types import utcnow
from scheduler.context import CampaignContext, at_local
from scheduler.planners import CAMPAIGNS, Item
from scheduler.rules import CAP_WINDOW, MARKETING_PREFIXES, WeeklyCap, defer_for_quiet_hours

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (done, total)


@dataclass
class RunReport:
    campaign: str
    due: int = 0
    queued: int = 0
    already: int = 0  # queued by an earlier run (dedupe key present)
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> count
    deferred: int = 0  # queued for the end of the guest's quiet hours
    seconds: float = 0.0

    def summary(self) -> str:
        skipped = ", ".join(f"{reason} {count}" for reason, count in sorted(self.skipped.items())) or "none"
        return (
            f"{self.campaign}: due {self.due}, queued {self.queued} ({self.deferred} deferred for quiet hours), "
            f"already queued {self.already}, skipped: {skipped}, {self.seconds:.2f}s"
        )


@dataclass(frozen=True)
class PreviewLine:
    campaign: str
    guest_id: int
    name: str
    locale: str
    send_at: datetime  # UTC
    status: str  # "send" | "queued" | "skip:<reason>"
    text: str


def _reason(item: Item, cap: WeeklyCap | None) -> str | None:
    """Why this item must not be sent, or None."""
    if item.contact.channel is None or not item.contact.chat_id:
        return "no_channel"
    if item.marketing and not item.contact.consent:
        return "no_consent"
    if item.marketing and cap is not None and not cap.allows(item.guest_id):
        return "weekly_cap"
    return None


class CampaignRunner:
    def __init__(
        self,
        db: Database,
        ctx: CampaignContext,
        *,
        clock: Callable[[], datetime] = utcnow,
        on_queued: Callable[[], None] = lambda: None,
    ) -> None:
        self.db = db
        self.ctx = ctx
        self.clock = clock
        self.on_queued = on_queued

    async def run(self, name: str, now: datetime | None = None, progress: Progress | None = None) -> RunReport:
        """Queue whatever of campaign ``name`` is due at ``now`` and not queued yet."""
        campaign = CAMPAIGNS[name]
        now = now or self.clock()
        started = clock_time.perf_counter()
        report = RunReport(name)
        async with self.db.read() as session:
            items = await campaign.find(session, self.ctx, now - campaign.lookback(self.ctx.settings), now + timedelta(seconds=1))
            counts = await store.marketing_counts(session, now - CAP_WINDOW, MARKETING_PREFIXES) if campaign.marketing else {}
        items = [item for item in items if item.expires_at > now]
        report.due = len(items)
        cap = WeeklyCap(self.ctx.settings.weekly_marketing_cap, counts) if campaign.marketing else None
        known = await self._known_keys(items)
        batch = self.ctx.settings.batch_size
        for offset in range(0, len(items), batch):
            chunk = items[offset:offset + batch]
            async with self.db.write() as session:
                await self._write(session, chunk, cap, now, report, known)
            if report.queued:
                self.on_queued()
            if progress is not None:
                progress(min(offset + batch, len(items)), len(items))
        if progress is not None and not items:
            progress(0, 0)
        report.seconds = clock_time.perf_counter() - started
        if report.due:
            log.info("campaign %s", report.summary())
        return report

    async def _known_keys(self, items: list[Item]) -> set[str] | None:
        """Keys already queued, in one query when the run's keys share a few prefixes (a holiday's keys all
        start ``holiday:<code>:<year>:``); None when a per-batch lookup is cheaper. Either way the
        database's unique index has the last word."""
        prefixes = {item.dedupe_key.rsplit(":", 1)[0] + ":" for item in items}
        if not items or len(prefixes) > 10 or len(items) < 1000:
            return None
        known: set[str] = set()
        async with self.db.read() as session:
            for prefix in prefixes:
                known |= await store.keys_with_prefix(session, prefix)
        return known

    async def _write(
        self, session: AsyncSession, items: list[Item], cap: WeeklyCap | None, now: datetime, report: RunReport,
        known: set[str] | None = None,
    ) -> None:
        if known is None:
            present = await store.existing_keys(session, [item.dedupe_key for item in items])
        else:
            present = known
        rows: list[dict[str, Any]] = []
        for item in items:
            if item.dedupe_key in present:
                report.already += 1
                continue
            reason = _reason(item, cap)
            if reason is not None:
                report.skipped[reason] += 1
                continue
            send_at = self._send_at(item, now)
            if send_at > max(item.due_at, now):
                report.deferred += 1
            if item.record is not None:  # rare (one per booking): a row of its own with its record
                if await self._write_with_record(session, item, send_at, now):
                    report.queued += 1
                else:
                    report.already += 1
                continue
            rows.append(self._row(item, self.render(item), send_at, now))
            if cap is not None and item.marketing:
                cap.take(item.guest_id)
            report.queued += 1
        await store.insert_outbox_rows(session, rows)

    def _send_at(self, item: Item, now: datetime) -> datetime:
        ctx = self.ctx
        return defer_for_quiet_hours(max(item.due_at, now), item.zone, ctx.quiet_start, ctx.quiet_end)

    def render(self, item: Item, record: object = "…") -> tuple[str, list[dict[str, str]]]:
        text = self.ctx.text(item.locale, item.key, **item.values)
        if item.marketing:  # every marketing message says how to stop them
            text = f"{text}\n{self.ctx.text(item.locale, 'campaign.optout')}"
        buttons = [
            {
                "label": self.ctx.text(item.locale, spec.label_key, **spec.label_values),
                "value": spec.value.replace("{record}", str(record)),
            }
            for spec in item.buttons
        ]
        return text, buttons

    def _row(self, item: Item, rendered: tuple[str, list[dict[str, str]]], send_at: datetime, now: datetime) -> dict[str, Any]:
        text, buttons = rendered
        return {
            "channel": item.contact.channel,
            "chat_id": item.contact.chat_id,
            "guest_id": item.guest_id,
            "kind": "campaign",
            "text": text,
            "buttons": buttons,
            "dedupe_key": item.dedupe_key,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": send_at,
            "created_at": now,
            "zone": getattr(item.zone, "key", None),  # quiet hours are checked again when it is sent
            "expires_at": item.expires_at,
        }  # ticket_id, last_error, external_id, sent_at: NULL

    async def _write_with_record(self, session: AsyncSession, item: Item, send_at: datetime, now: datetime) -> bool:
        """The survey (or stay preparation) and its message commit together or not at all."""
        try:
            async with session.begin_nested():
                record: Survey | StayPreparation
                if item.record == "survey":
                    record = Survey(guest_id=item.guest_id, booking_id=item.booking_id, created_at=now)
                else:
                    record = StayPreparation(
                        booking_id=item.booking_id or 0, guest_id=item.guest_id, preferences=item.preferences, created_at=now
                    )
                session.add(record)
                await session.flush()
                session.add(Outbox(**self._row(item, self.render(item, record.id), send_at, now)))
                await session.flush()
        except IntegrityError:
            return False
        return True

    async def preview(self, day: date) -> list[PreviewLine]:
        """Who would get what on ``day`` (hotel calendar), without writing anything."""
        start = at_local(day, time(0), self.ctx.zone)
        end = start + timedelta(days=1)
        lines: list[PreviewLine] = []
        async with self.db.read() as session:
            counts = await store.marketing_counts(session, start - CAP_WINDOW, MARKETING_PREFIXES)
            cap = WeeklyCap(self.ctx.settings.weekly_marketing_cap, counts)
            for campaign in CAMPAIGNS.values():
                items = sorted(await campaign.find(session, self.ctx, start, end), key=lambda i: (i.due_at, i.guest_id))
                present = await store.existing_keys(session, [item.dedupe_key for item in items])
                for item in items:
                    if item.dedupe_key in present:
                        status = "queued"
                    else:
                        reason = _reason(item, cap)
                        status = f"skip:{reason}" if reason else "send"
                        if reason is None and item.marketing:
                            cap.take(item.guest_id)
                    lines.append(PreviewLine(
                        campaign.name, item.guest_id, item.contact.name, item.locale,
                        self._send_at(item, item.due_at), status, self.render(item)[0],
                    ))
        return lines
