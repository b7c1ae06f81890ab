"""Starts and stops the lifecycle scheduler inside Concierge, and builds what scheduler/ needs from settings.

scheduler/ is channel- and config-neutral: here its ``CampaignContext`` is built from ``Settings`` and
the message catalogs (wording stays in ``handlers/locales/*/campaigns.yaml``), and APScheduler gets a
synchronous URL for its job store in the project's database (see scheduler/jobs.py for why it runs in
its own thread).
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import asyncpg
from apscheduler.jobstores.base import BaseJobStore
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from bot.config import Settings
from bot.leader import LeaderLock
from crm.db import BUSY_TIMEOUT_MS, Database
from handlers.i18n import LOCALES, Catalog, localize
from scheduler import jobs
from scheduler.context import CampaignContext
from scheduler.rules import defer_for_quiet_hours
from scheduler.service import LifecycleService

log = logging.getLogger(__name__)

JOBS_TABLE = "apscheduler_jobs"
PUSH_CHANNELS = ("telegram",)  # channels the outbox can deliver to a guest unprompted (web chat cannot)


def push_channels(settings: Settings) -> tuple[str, ...]:
    """Telegram, and each webhook channel that is switched on (its sender keeps to the platform's window)."""
    extra = [name for name in ("wechat", "whatsapp", "line") if getattr(settings, name).enabled]
    return PUSH_CHANNELS + tuple(extra)


def catalog_render(catalog: Catalog) -> Callable[[str, str, Mapping[str, object]], str]:
    def render(locale: str, key: str, values: Mapping[str, object]) -> str:
        return catalog.text(locale, key, **values)

    return render


def build_context(settings: Settings, catalog: Catalog) -> CampaignContext:
    hotel = settings.hotel
    complaint = settings.ticket_categories.get("complaint") or settings.ticket_categories["other"]
    return CampaignContext(
        zone=hotel.zone,
        render=catalog_render(catalog),
        settings=settings.campaigns,
        quiet_start=settings.quiet_hours.start,
        quiet_end=settings.quiet_hours.end,
        check_in_time=hotel.check_in_time,
        check_out_time=hotel.check_out_time,
        hotel_name={locale: localize(hotel.names, locale) for locale in LOCALES},
        address={locale: localize(hotel.address, locale) for locale in LOCALES},
        departments={code: localize(name, settings.default_language) for code, name in settings.departments.items()},
        languages=tuple(settings.languages),
        default_language=settings.default_language,
        staff_locale=settings.default_language,
        push_channels=push_channels(settings),
        complaint_department=complaint.department,
        complaint_respond_minutes=complaint.respond_minutes,
        complaint_resolve_minutes=complaint.resolve_minutes,
        handoff_release_minutes=settings.handoff.release_after_minutes,
    )


def sync_url(async_url: str) -> str | None:
    """The job store's synchronous URL for our async one, or None when no sync driver is installed."""
    url = make_url(async_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        return url.set(drivername="sqlite").render_as_string(hide_password=False)
    if backend == "postgresql":
        for driver, module in (("psycopg", "psycopg"), ("psycopg2", "psycopg2")):
            if importlib.util.find_spec(module) is not None:
                return url.set(drivername=f"postgresql+{driver}").render_as_string(hide_password=False)
    return None


def job_store(database_url: str) -> BaseJobStore:
    url = sync_url(database_url)
    if url is None:
        log.warning("no synchronous driver for the scheduler's job store (pip install psycopg); jobs kept in memory")
        return MemoryJobStore()
    options: dict[str, Any] = {"connect_args": {"timeout": BUSY_TIMEOUT_MS / 1000}} if url.startswith("sqlite") else {}
    return SQLAlchemyJobStore(engine=create_engine(url, **options), tablename=JOBS_TABLE)


class SchedulerHost:
    """The lifecycle service plus the APScheduler that triggers it. Every worker has one; only the worker
    holding the leader lock runs it, the others stand by and take over when the leader dies."""

    def __init__(
        self, settings: Settings, db: Database, catalog: Catalog, *, on_queued: Callable[[], None],
        retry_seconds: float = 5.0,
    ) -> None:
        self.settings = settings
        self.db = db
        self.service = LifecycleService(
            db, build_context(settings, catalog), on_queued=on_queued, retention_days=settings.retention.messages_days
        )
        self.scheduler: BackgroundScheduler | None = None
        self.lock = LeaderLock(settings.database_url)
        self.retry_seconds = retry_seconds
        self._watch: asyncio.Task[None] | None = None

    @property
    def leading(self) -> bool:
        return self.scheduler is not None

    async def start(self) -> None:
        """Lead now if nobody else does; either way keep watching (stand-by, or lost lock)."""
        await self._elect()
        self._watch = asyncio.create_task(self._keep_electing(), name="scheduler-leader")

    async def _keep_electing(self) -> None:
        while True:
            await asyncio.sleep(self.retry_seconds)
            await self._elect()

    async def _elect(self) -> None:
        try:
            holding = await self.lock.try_acquire()
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("scheduler leader election failed (%s); retrying", exc)
            holding = False
        if holding and self.scheduler is None:
            log.info("this worker is the scheduler leader")
            await self._start_scheduler()
        elif not holding and self.scheduler is not None:
            await self._stop_scheduler()

    async def _start_scheduler(self) -> None:
        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # "Running job…" every minute is noise
        scheduler = BackgroundScheduler(
            jobstores={"default": job_store(self.settings.database_url)},
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone=self.settings.hotel.zone,
        )
        jobs.activate(self.service, asyncio.get_running_loop())
        # The job store is synchronous: create its table and install jobs off the event loop.
        await asyncio.to_thread(scheduler.start, paused=True)
        await asyncio.to_thread(jobs.install, scheduler, self.settings.campaigns, self.settings.hotel.zone)
        scheduler.resume()  # runs missed within the grace time fire now, once
        self.scheduler = scheduler
        log.info("scheduler started: %s", ", ".join(job.id for job in scheduler.get_jobs()))

    async def _stop_scheduler(self) -> None:
        if self.scheduler is None:
            return
        running = jobs.deactivate()  # runs in progress: their sweeps are idempotent, the next one redoes them
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)  # done before the store is disposed
        scheduler, self.scheduler = self.scheduler, None
        await asyncio.to_thread(scheduler.shutdown, True)

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            try:
                await self._watch
            except asyncio.CancelledError:
                pass
            self._watch = None
        await self._stop_scheduler()
        await self.lock.release()


def quiet_until(settings: Settings) -> Callable[[str, datetime], datetime]:
    """For the sender: when the guest's quiet hours end (``now`` outside them), by the zone stored on the row."""
    start, end, fallback = settings.quiet_hours.start, settings.quiet_hours.end, settings.hotel.zone

    def until(zone: str, now: datetime) -> datetime:
        try:
            tz: tzinfo = ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):  # a zone this machine's tz database lacks
            tz = fallback
        return defer_for_quiet_hours(now, tz, start, end)

    return until
