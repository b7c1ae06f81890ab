"""Prometheus metrics at ``/metrics``: traffic and latency counted as it happens, ticket SLA state and
outbox lag read from the store at scrape time (so every worker reports the same truth).

Who may scrape (``http.metrics_token``, ``http.metrics_listen``): with a token, whoever sends it as a
bearer token; on a separate listener, whoever reaches that address (the network is the guard); otherwise
only a client on this machine. The figures say how busy the hotel is and how far behind delivery runs:
not for the public internet the chat page faces.
"""

from __future__ import annotations

import hmac
from datetime import datetime
from ipaddress import ip_address

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func
from sqlmodel import select

from bot.client_address import client_address
from bot.config import HttpSettings
from crm.db import Database
from crm.models import Outbox, Ticket
from crm.types import utcnow

OPEN = ("open", "claimed")


class Metrics:
    """One registry per application instance (tests start many in one process)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.registry = CollectorRegistry()
        self.messages = Counter(
            "concierge_messages", "Guest messages in and replies out", ["channel", "direction"], registry=self.registry
        )
        self.handling = Histogram(
            "concierge_handling_seconds", "Time to process one inbound update", ["channel"], registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.tickets = Gauge(
            "concierge_open_tickets", "Open tickets by SLA state", ["sla_state"], registry=self.registry
        )
        self.outbox_pending = Gauge("concierge_outbox_pending", "Outbox rows not yet sent", registry=self.registry)
        self.outbox_lag = Gauge(
            "concierge_outbox_lag_seconds", "Age of the oldest due outbox row not yet sent", registry=self.registry
        )
        self.outbox_unknown = Gauge(
            "concierge_outbox_unknown", "Messages a stopped sender may or may not have delivered (staff check them)",
            registry=self.registry,
        )

    def processed(self, channel: str, seconds: float, replies: int) -> None:
        self.messages.labels(channel, "in").inc()
        if replies:
            self.messages.labels(channel, "out").inc(replies)
        self.handling.labels(channel).observe(seconds)

    async def _refresh(self, now: datetime) -> None:
        async with self.db.read() as session:
            rows = (await session.execute(
                select(Ticket.respond_due, Ticket.resolve_due, Ticket.first_response_at)
                .where(Ticket.status.in_(OPEN))  # type: ignore[attr-defined]
            )).all()
            pending = (await session.execute(
                select(func.count(), func.min(Outbox.next_attempt_at)).where(Outbox.status.in_(("pending", "sending")))  # type: ignore[attr-defined]
            )).one()
            unknown = (await session.execute(
                select(func.count()).select_from(Outbox).where(Outbox.status == "unknown")  # type: ignore[arg-type]
            )).scalar_one()
        states = {"on_time": 0, "response_overdue": 0, "resolution_overdue": 0}
        for respond_due, resolve_due, responded in rows:
            if resolve_due is not None and resolve_due < now:
                states["resolution_overdue"] += 1
            elif respond_due is not None and responded is None and respond_due < now:
                states["response_overdue"] += 1
            else:
                states["on_time"] += 1
        for state, count in states.items():
            self.tickets.labels(state).set(count)
        count, oldest = pending
        self.outbox_pending.set(count or 0)
        self.outbox_lag.set(max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
        self.outbox_unknown.set(unknown)

    async def _scrape(self) -> web.Response:
        await self._refresh(utcnow())
        return web.Response(body=generate_latest(self.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    def handler(self, http: HttpSettings, *, own_listener: bool = False) -> web.Handler:
        """The /metrics route with the access rule the configuration asks for (see the module's docstring)."""

        async def metrics(request: web.Request) -> web.StreamResponse:
            if http.metrics_token:
                given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
                if not hmac.compare_digest(given.encode(), http.metrics_token.encode()):
                    challenge = {"WWW-Authenticate": "Bearer"}
                    return web.Response(status=401, text="bearer token required", headers=challenge)
            elif not own_listener and not _loopback(client_address(request, http.trusted_proxies)):
                return web.Response(status=403, text="metrics are served to this machine only (see http.metrics_*)")
            return await self._scrape()

        return metrics


def _loopback(address: str) -> bool:
    try:
        return ip_address(address.split("%", 1)[0]).is_loopback
    except ValueError:
        return False

