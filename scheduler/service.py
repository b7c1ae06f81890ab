"""Every timed job by name: the campaign sweeps, the SLA sweep (with the hand-off sweep) and the nightly CRM
recomputation.

The APScheduler jobs (scheduler/jobs.py), the CLI (`concierge campaigns run NAME`) and the tests all go
through ``run_job``, so there is one code path whatever triggered it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from crm import loyalty, segments
from crm.db import Database
from crm.maintenance import purge_messages
from crm.types import utcnow
from scheduler.context import CampaignContext, local_day
from scheduler.handoff import sweep_handoffs
from scheduler.planners import CAMPAIGNS
from scheduler.runner import CampaignRunner, Progress, RunReport
from scheduler.sla import sweep_sla

log = logging.getLogger(__name__)

SLA = "sla"
NIGHTLY = "nightly"
JOBS: tuple[str, ...] = (*CAMPAIGNS, SLA, NIGHTLY)


class LifecycleService:
    def __init__(
        self,
        db: Database,
        ctx: CampaignContext,
        *,
        clock: Callable[[], datetime] = utcnow,
        on_queued: Callable[[], None] = lambda: None,
        retention_days: int = 0,
    ) -> None:
        self.db = db
        self.ctx = ctx
        self.retention_days = retention_days  # conversation text older than this is purged nightly; 0 keeps it
        self.clock = clock
        self.on_queued = on_queued
        self.runner = CampaignRunner(db, ctx, clock=clock, on_queued=on_queued)

    async def run_job(self, name: str, now: datetime | None = None, progress: Progress | None = None) -> str:
        """Run one job now; returns a one-line summary for logs and the CLI."""
        now = now or self.clock()
        if name in CAMPAIGNS:
            report: RunReport = await self.runner.run(name, now, progress)
            return report.summary()
        if name == SLA:  # the overdue tickets, then what their waiting guests are told
            escalated = await sweep_sla(self.db, self.ctx, now)
            held = await sweep_handoffs(self.db, self.ctx, now)
            if escalated or held.returned or held.told_late:
                self.on_queued()
                log.info("SLA sweep escalated %d tickets, returned %d conversations to the bot, told %d "
                         "waiting guests it runs late", escalated, held.returned, held.told_late)
            return (f"sla: escalated {escalated} tickets, {held.returned} conversations returned to the bot, "
                    f"{held.told_late} waiting guests told it runs late")
        if name == NIGHTLY:
            return await self.nightly(now)
        raise KeyError(f"unknown job {name!r}; known: {', '.join(JOBS)}")

    async def nightly(self, now: datetime) -> str:
        """Points for completed stays, tiers, then RFM and the pyramid (which read the same totals)."""
        today = local_day(now, self.ctx.zone)
        async with self.db.write() as session:
            points = await loyalty.award_points(session, today, self.ctx.settings.points_per_night, now)
            tiers = await loyalty.update_tiers(session, today)
        async with self.db.write() as session:
            sizes = await segments.recompute(session, today, now)
        pyramid = " ".join(f"{label}={count}" for label, count in sizes.items())
        purged = ""
        if self.retention_days > 0:
            counts = await purge_messages(self.db, now - timedelta(days=self.retention_days))
            purged = f", purged {counts['messages']} messages older than {self.retention_days} days"
        return f"nightly: {points} points credited, {tiers} tier changes, pyramid {pyramid}{purged}"
