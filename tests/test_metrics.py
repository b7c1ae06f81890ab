"""/metrics for Prometheus: traffic, latency, tickets by SLA state, outbox lag."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp

from bot.app import Concierge
from nlp import Analyzer
from tests.conftest import SettingsFactory


async def test_metrics_count_messages_and_tickets(web_bot: Concierge) -> None:
    async with aiohttp.ClientSession() as client:
        base = f"http://127.0.0.1:{web_bot.port}"
        for text in ("早餐几点", "空调坏了，房间 1203"):
            async with client.post(f"{base}/api/chat", json={"session": "m1", "text": text}) as response:
                assert response.status == 200
        async with client.get(f"{base}/metrics") as response:
            assert response.status == 200
            body = await response.text()
    assert 'concierge_messages_total{channel="web",direction="in"} 2.0' in body
    assert 'concierge_handling_seconds_count{channel="web"} 2.0' in body
    assert 'concierge_open_tickets{sla_state="on_time"} 1.0' in body
    assert "concierge_outbox_lag_seconds" in body


@asynccontextmanager
async def _running(make_settings: SettingsFactory, analyzer: Analyzer, **env: str) -> AsyncIterator[Concierge]:
    app = Concierge(make_settings(**env), analyzer=analyzer)
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


async def test_metrics_are_not_for_the_public(make_settings: SettingsFactory, analyzer: Analyzer) -> None:
    """Default: this machine only — a client a trusted proxy vouches for elsewhere is refused."""
    async with _running(make_settings, analyzer, CONCIERGE_HTTP_TRUSTED_PROXIES="127.0.0.1") as app, \
            aiohttp.ClientSession() as client:
        url = f"http://127.0.0.1:{app.port}/metrics"
        async with client.get(url, headers={"X-Forwarded-For": "203.0.113.5"}) as response:
            assert response.status == 403
        async with client.get(url) as response:  # the proxy's own machine, or a local scraper
            assert response.status == 200


async def test_metrics_behind_a_bearer_token(make_settings: SettingsFactory, analyzer: Analyzer) -> None:
    async with _running(make_settings, analyzer, CONCIERGE_METRICS_TOKEN="s3cret-scrape") as app, \
            aiohttp.ClientSession() as client:
        url = f"http://127.0.0.1:{app.port}/metrics"
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"}):
            async with client.get(url, headers=headers) as response:
                assert response.status == 401 and response.headers["WWW-Authenticate"] == "Bearer"
        async with client.get(url, headers={"Authorization": "Bearer s3cret-scrape"}) as response:
            assert response.status == 200 and "concierge_outbox_pending" in await response.text()


async def test_metrics_on_a_listener_of_their_own(make_settings: SettingsFactory, analyzer: Analyzer) -> None:
    async with _running(make_settings, analyzer, CONCIERGE_METRICS_LISTEN="127.0.0.1:0") as app, \
            aiohttp.ClientSession() as client:
        async with client.get(f"http://127.0.0.1:{app.port}/metrics") as response:
            assert response.status == 404  # not on the guests' server at all
        async with client.get(f"http://127.0.0.1:{app.metrics_port}/metrics") as response:
            assert response.status == 200 and "concierge_open_tickets" in await response.text()
