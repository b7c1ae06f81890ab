"""APScheduler 3 wiring: the job table and the function every stored job calls.

APScheduler only *triggers* idempotent sweeps; what was sent lives in our tables. Jobs are stored in the
project's database (SQLAlchemyJobStore) by textual reference (``scheduler.jobs:fire``) with the job name
as the only argument, so a stored job survives restarts and code changes elsewhere. Long misfire grace
and coalescing mean that after downtime a missed run happens once, late, instead of being skipped.

The job store is synchronous. Running it on the event loop (AsyncIOScheduler) would block the loop on
SQLite's file lock while one of our own async write transactions — which needs the loop to commit —
holds it: a deadlock until the busy timeout, then an exception inside APScheduler's wakeup. So the
scheduler runs in its own thread (BackgroundScheduler) and ``fire`` hands each sweep to the event loop
and waits for it there, which keeps ``max_instances=1`` meaningful.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from datetime import timedelta, tzinfo
from typing import Any

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from scheduler.config import CampaignSettings
from scheduler.planners import CAMPAIGNS
from scheduler.service import NIGHTLY, SLA, LifecycleService

log = logging.getLogger(__name__)

FIRE = "scheduler.jobs:fire"

_lock = threading.Lock()
_active: tuple[LifecycleService, asyncio.AbstractEventLoop] | None = None
_tasks: set[asyncio.Task[Any]] = set()  # runs in progress, on the event loop (only touched there)


def activate(service: LifecycleService, loop: asyncio.AbstractEventLoop) -> None:
    global _active
    with _lock:
        _active = (service, loop)


def deactivate() -> list[asyncio.Task[Any]]:
    """No new runs start; returns the runs in progress so the caller (on the event loop) can cancel and
    await them before the store they write to is closed."""
    global _active
    with _lock:
        _active = None
    return list(_tasks)


async def _run(service: LifecycleService, job: str) -> str:
    task = asyncio.current_task()
    assert task is not None
    with _lock:
        if _active is None:  # stopped between the trigger and this task starting
            raise asyncio.CancelledError
    _tasks.add(task)
    try:
        return await service.run_job(job)
    finally:
        _tasks.discard(task)


def fire(job: str) -> None:
    """Called by APScheduler in its worker thread: run the sweep on the event loop and wait for it."""
    with _lock:
        active = _active
        if active is None:
            log.info("job %s fired while the service is stopped; skipped (the next sweep catches up)", job)
            return
        service, loop = active
    future = asyncio.run_coroutine_threadsafe(_run(service, job), loop)
    try:
        log.debug("%s", future.result())
    except concurrent.futures.CancelledError:
        log.info("job %s cancelled by shutdown", job)
    except Exception:
        log.exception("job %s failed", job)


def triggers(settings: CampaignSettings, zone: tzinfo) -> dict[str, BaseTrigger]:
    table: dict[str, BaseTrigger] = {name: IntervalTrigger(minutes=settings.sweep_minutes) for name in CAMPAIGNS}
    table[SLA] = IntervalTrigger(seconds=settings.sla_sweep_seconds)
    table[NIGHTLY] = CronTrigger(hour=settings.nightly_time.hour, minute=settings.nightly_time.minute, timezone=zone)
    return table


def install(scheduler: BaseScheduler, settings: CampaignSettings, zone: tzinfo) -> None:
    """Add or update the jobs. A stored job whose trigger is unchanged is kept as it is, so a run missed
    while we were down still fires (once) on start; a changed trigger replaces it."""
    grace = int(timedelta(hours=settings.misfire_grace_hours).total_seconds())
    wanted = triggers(settings, zone)
    for job in scheduler.get_jobs():
        if job.id not in wanted:
            scheduler.remove_job(job.id)
    for name, trigger in wanted.items():
        existing = scheduler.get_job(name)
        if existing is not None and str(existing.trigger) == str(trigger) and existing.func_ref == FIRE:
            continue
        scheduler.add_job(
            FIRE, trigger, args=[name], id=name, name=name, replace_existing=True,
            misfire_grace_time=grace, coalesce=True, max_instances=1,
        )
