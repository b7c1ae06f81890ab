"""The application factory: wires the store, the analyser, the pipeline, delivery and the channels."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.line.channel import LineChannel
from bot.channels.telegram.intake import TelegramChannel
from bot.channels.telegram.staff import STAFF
from bot.channels.web.chat import PUSH_KEY, create_web_app
from bot.channels.webhook import WebhookChannel
from bot.channels.wechat.channel import WeChatChannel
from bot.channels.whatsapp.channel import WhatsAppChannel
from bot.config import Settings
from bot.delivery import Deliverer
from bot.metrics import Metrics
from bot.nlp_setup import build_analyzer
from bot.pipeline import Pipeline
from bot.ratelimit import RateLimiter
from bot.scheduler_setup import SchedulerHost, quiet_until
from bot.staff.deps import StaffDeps
from bot.staff.routes import add_staff_routes
from crm.db import Database
from crm.migrate import upgrade
from crm.models import Outbox, RoomType
from crm.ticket_work import CARD_CHANNEL
from handlers.i18n import Catalog
from handlers.staff import report_uncertain
from nlp import Analyzer

log = logging.getLogger(__name__)


async def sync_room_types(session: AsyncSession, settings: Settings) -> None:
    """Mirror the configured room types into the store (bookings reference them)."""
    for room in settings.room_types:
        row = await session.get(RoomType, room.code)
        if row is None:
            row = RoomType(code=room.code, name_zh=room.names.zh, name_en=room.names.en,
                           capacity=room.capacity, rate=room.rate, inventory=room.inventory)
            session.add(row)
        else:
            row.name_zh, row.name_en = room.names.zh, room.names.en
            row.capacity, row.rate, row.inventory = room.capacity, room.rate, room.inventory


async def _serve(runner: web.AppRunner, host: str, port: int) -> int:
    """Start ``runner`` on host:port; returns the port bound (port 0 = any free one)."""
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server  # aiohttp exposes the bound socket only here
    sockets = getattr(server, "sockets", None) or []
    return int(sockets[0].getsockname()[1]) if sockets else port


@dataclass
class Concierge:
    """Everything one process runs. ``start``/``stop`` are symmetrical and safe to call from tests."""

    settings: Settings
    analyzer: Analyzer | None = None  # built from the settings unless given (tests share one)
    worker: bool = False  # an extra worker: no Telegram intake of its own (see TelegramChannel.start)
    db: Database = field(init=False)
    pipeline: Pipeline = field(init=False)
    deliverer: Deliverer = field(init=False)
    limiter: RateLimiter = field(init=False)
    telegram: TelegramChannel | None = field(init=False, default=None)
    webhook_channels: list[WebhookChannel] = field(init=False, default_factory=list)  # WeChat, WhatsApp, LINE
    scheduler: SchedulerHost = field(init=False)  # campaigns, SLA sweep, nightly CRM (issue 6)
    web_app: web.Application = field(init=False)
    metrics: Metrics = field(init=False)
    _runner: web.AppRunner | None = field(init=False, default=None)
    _metrics_runner: web.AppRunner | None = field(init=False, default=None)
    port: int = field(init=False, default=0)
    metrics_port: int = field(init=False, default=0)  # of the separate /metrics listener, when configured

    def __post_init__(self) -> None:
        started = time.perf_counter()
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.db = Database(self.settings.database_url)
        self.analyzer = self.analyzer or build_analyzer(self.settings)
        self.pipeline = Pipeline(self.settings, self.db, self.analyzer, Catalog())
        # campaign rows held at once: one second's worth at the global rate is all a reply can wait behind
        self.deliverer = Deliverer(self.db, bulk_batch=max(1, round(self.settings.telegram.rate_limit_per_second)))
        self.pipeline.on_outbox = self.deliverer.wake
        self.deliverer.on_uncertain = self._report_uncertain
        self.deliverer.quiet_until = quiet_until(self.settings)
        self.scheduler = SchedulerHost(self.settings, self.db, self.pipeline.catalog, on_queued=self.deliverer.wake)
        telegram = self.settings.telegram
        self.limiter = RateLimiter(telegram.rate_limit_per_second, telegram.rate_limit_per_chat_seconds)
        self.web_app = create_web_app(self.pipeline)
        self.metrics = Metrics(self.db)
        http = self.settings.http
        self.metrics_app: web.Application | None = None  # /metrics on an address of its own (http.metrics_listen)
        if http.metrics_listen:
            self.metrics_app = web.Application()
            self.metrics_app.router.add_get("/metrics", self.metrics.handler(http, own_listener=True))
        else:
            self.web_app.router.add_get("/metrics", self.metrics.handler(http))
        push = self.web_app[PUSH_KEY]  # staff replies to web guests leave through the guest's open socket
        self.deliverer.register("web", push.send, reachable=push.sessions)
        live = add_staff_routes(self.web_app, StaffDeps(self.settings, self.db, self.pipeline.catalog,
                                                        self.deliverer, self.analyzer))

        def processed(channel: str, seconds: float, replies: int) -> None:
            self.metrics.processed(channel, seconds, replies)
            live.wake()  # an open dashboard hears of a new ticket or a guest's message at once

        self.pipeline.on_processed = processed
        self.deliverer.on_held = live.wake  # a message its channel would not take: staff hear at once
        if telegram.enabled:
            self.telegram = TelegramChannel(telegram, self.pipeline, self.deliverer, self.limiter)
            if self.telegram.uses_webhook:
                self.telegram.add_routes(self.web_app)
        else:  # staff alerts and card edits go to Telegram only; the dashboard lists the tickets anyway
            self.deliverer.park_unserved(STAFF, CARD_CHANNEL)
        if self.settings.wechat.enabled:
            self.webhook_channels.append(WeChatChannel(self.settings.wechat, self.pipeline, self.deliverer))
        if self.settings.whatsapp.enabled:
            self.webhook_channels.append(WhatsAppChannel(self.settings.whatsapp, self.pipeline, self.deliverer))
        if self.settings.line.enabled:
            self.webhook_channels.append(LineChannel(self.settings.line, self.pipeline, self.deliverer))
        for channel in self.webhook_channels:
            channel.add_routes(self.web_app)
        log.info("components ready in %.2fs", time.perf_counter() - started)

    async def _report_uncertain(self, session: AsyncSession, rows: list[Outbox]) -> None:
        log.warning("%d outbox rows left in flight by a stopped sender are now 'unknown'", len(rows))
        await report_uncertain(session, self.pipeline.catalog, self.settings.default_language,
                               self.settings.hotel.zone, rows)

    async def prepare_store(self) -> None:
        await upgrade(self.db)
        async with self.db.write() as session:
            await sync_room_types(session, self.settings)

    async def start(self, *, serve_http: bool = True) -> None:
        await self.prepare_store()
        if serve_http:
            self._runner = web.AppRunner(self.web_app, access_log=None)
            self.port = await _serve(self._runner, self.settings.http.host, self.settings.http.port)
            log.info("web chat on http://%s:%s/", self.settings.http.host, self.port)
            if self.metrics_app is not None:
                host, _, port = self.settings.http.metrics_listen.rpartition(":")
                self._metrics_runner = web.AppRunner(self.metrics_app, access_log=None)
                self.metrics_port = await _serve(self._metrics_runner, host.strip("[]"), int(port))
                log.info("metrics on http://%s:%s/metrics", host, self.metrics_port)
        await self.deliverer.start()
        for channel in self.webhook_channels:
            await channel.start()
        if self.telegram is not None:
            await self.telegram.start(primary=not self.worker)
            mode = "webhook" if self.telegram.uses_webhook else "long polling"
            log.info("Telegram channel started (%s%s)", mode, ", extra worker" if self.worker else "")

    async def stop(self) -> None:
        await self.scheduler.stop()
        if self.telegram is not None:
            await self.telegram.stop()
        for channel in self.webhook_channels:
            await channel.stop()
        await self.deliverer.stop()
        for runner in (self._runner, self._metrics_runner):
            if runner is not None:
                await runner.cleanup()
        await self.db.dispose()

    async def serve_forever(self, until: asyncio.Event | None = None) -> None:
        """Serve until ``until`` is set (a stop signal), then stop in order: what is in flight finishes or
        is left for the next start's recovery, never half-written."""
        await self.start()
        if self.settings.campaigns.scheduler:  # one scheduler per database: off on extra workers
            await self.scheduler.start()
        try:
            await (until or asyncio.Event()).wait()
        finally:
            await self.stop()
            log.info("stopped")
