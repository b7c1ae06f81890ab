"""Issue 15, "alerts reach people": the live dashboard (Server-Sent Events at /staff/events) — over HTTP,
and in chromium: a guest writes in the web chat and the open queue page shows the ticket without a reload."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import Concierge
from crm.types import utcnow
from tests.staff_helpers import (
    CHEF, MANAGER, PASSWORD, add_team, base, client, login, next_news, open_stream, reply_on_ticket, say,
)

CHROMIUM = os.environ.get("CONCIERGE_CHROMIUM", "/usr/bin/chromium")
SHOTS = os.environ.get("CONCIERGE_SCREENSHOT_DIR")  # set to keep the screenshots (the note describes them)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 10_000
# Records what the page shows as system notifications and how often it beeps (a headless browser has
# neither a notification centre nor speakers); injected before the page's own script runs.
NOTICE_SPY = """
window.notices = []; window.beeps = 0;
window.Notification = class { constructor(title, options) { window.notices.push({title, body: (options || {}).body}); }
  static get permission() { return "granted"; } static requestPermission() { return Promise.resolve("granted"); } };
const Original = window.AudioContext;
window.AudioContext = class extends Original { createOscillator() { window.beeps += 1; return super.createOscillator(); } };
"""


@pytest.fixture
async def app(web_bot: Concierge) -> AsyncIterator[Concierge]:
    await add_team(web_bot)
    yield web_bot


async def test_new_tickets_guest_messages_and_sla_breaches_stream_to_the_dashboard(app: Concierge) -> None:
    async with client() as manager, client() as chef, client() as guest:
        await login(manager, app, MANAGER)
        await login(chef, app, CHEF)
        manager_stream = await open_stream(manager, app)
        chef_stream = await open_stream(chef, app)
        await say(guest, app, "live", "转人工")  # a front-desk ticket: not the chef's to see
        await say(guest, app, "live-2", "1203 房间想点一份炒饭送餐")  # food & beverage
        news = await next_news(manager_stream)
        assert (news["event"], news["ticket"], news["url"]) == ("ticket", 1, "/staff/tickets/1")
        assert "新工单 #1" in news["title"] and "转人工" in news["text"]
        assert (await next_news(chef_stream))["ticket"] == 2  # the chef's first news is their own department's
        assert (await next_news(manager_stream))["ticket"] == 2

        await reply_on_ticket(manager, app, 1, "您好，请问有什么可以帮您？")  # the manager holds the conversation
        await say(guest, app, "live", "好的，我在房间等您")
        news = await next_news(manager_stream)
        assert (news["event"], news["ticket"], news["text"]) == ("message", 1, "好的，我在房间等您")

        await app.scheduler.service.run_job("sla", utcnow() + timedelta(hours=3))
        breaches = {(await next_news(manager_stream))["ticket"] for _ in range(2)}
        assert breaches == {1, 2}
        manager_stream.close()
        chef_stream.close()


async def test_the_stream_needs_a_login(app: Concierge) -> None:
    async with client() as http:
        async with http.get(base(app) + "/staff/events", allow_redirects=False) as response:
            assert response.status == 303 and response.headers["Location"].startswith("/staff/login")


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no chromium at {CHROMIUM}")
async def test_the_open_queue_shows_a_new_web_chat_ticket_without_a_reload(app: Concierge, tmp_path: Path) -> None:
    playwright_api = pytest.importorskip("playwright.async_api")
    shots = Path(SHOTS) if SHOTS else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            staff_context = await browser.new_context(viewport={"width": 1000, "height": 720},
                                                      permissions=["notifications"])
            staff_context.set_default_timeout(TIMEOUT_MS)
            await staff_context.add_init_script(NOTICE_SPY)
            staff = await staff_context.new_page()
            await staff.goto(base(app) + "/staff/tickets")
            await staff.fill("input[name=name]", MANAGER)
            await staff.fill("input[name=password]", PASSWORD)
            await staff.click("form button[type=submit]")
            await staff.wait_for_url(lambda url: "/staff/login" not in url)
            await staff.wait_for_selector("body[data-live-state=open]", state="attached")
            await staff.evaluate("window.notReloaded = true")
            await staff.click("#alerts")  # opt in: notification and sound
            assert await staff.get_attribute("#alerts", "aria-pressed") == "true"
            await staff.screenshot(path=str(shots / "live-1-empty-queue.png"))

            guest_context = await browser.new_context(viewport={"width": 375, "height": 640})
            guest_context.set_default_timeout(TIMEOUT_MS)
            guest = await guest_context.new_page()
            await guest.goto(base(app) + "/")
            await guest.wait_for_selector("li.msg--bot")
            await guest.fill("#text", "1203房间的空调坏了，一直滴水，吵得睡不着")
            await guest.press("#text", "Enter")
            await guest.wait_for_selector("li.msg--bot:has-text('#1')")

            await staff.wait_for_selector("#queue-list a[href='/staff/tickets/1']")  # no reload: pushed
            await staff.wait_for_selector("#live .toast:has-text('#1')")
            assert await staff.evaluate("window.notReloaded === true")
            notices = await staff.evaluate("window.notices")
            assert any("#1" in notice["title"] and "空调坏了" in notice["body"] for notice in notices)
            assert await staff.evaluate("window.beeps") >= 1
            # the counts above the list are part of what is refreshed: two tickets waiting, not "0"
            await staff.wait_for_selector("#queue-list .counts a:has-text('待认领 2')")
            await staff.screenshot(path=str(shots / "live-2-ticket-arrived.png"))
            await guest.screenshot(path=str(shots / "live-0-guest-chat.png"))
            await staff.click("#queue-list a[href='/staff/tickets/1']")
            await staff.wait_for_selector("section.facts[data-ticket='1']")
            await staff.fill("textarea[name=text]", "非常抱歉，工程师马上上门，请问现在方便吗？")
            await staff.click("button[name=send]")  # the manager now holds the conversation
            await guest.wait_for_selector("li.msg--staff:has-text('工程师马上上门')")
            await staff.wait_for_url(lambda url: "done=replied" in url)
            await staff.wait_for_selector("body[data-live-state=open]", state="attached")
            await guest.fill("#text", "方便，我在房间等")
            await guest.press("#text", "Enter")
            await staff.wait_for_selector("#conversation .line:has-text('我在房间等')")  # live on the ticket page
            await staff.screenshot(path=str(shots / "live-3-ticket-page.png"), full_page=True)
            await staff.goto(base(app) + "/staff/logs")
            await staff.screenshot(path=str(shots / "live-4-logs.png"), full_page=True)
            await guest_context.close()
        finally:
            await browser.close()
