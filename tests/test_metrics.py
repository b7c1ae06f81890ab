"""/metrics for Prometheus: traffic, latency, tickets by SLA state, outbox lag."""

from __future__ import annotations

import aiohttp

from bot.app import Concierge


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
