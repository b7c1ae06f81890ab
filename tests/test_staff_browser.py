"""The staff dashboard in a real browser: Debian's chromium driven by Playwright (never `playwright install`).

Skipped when chromium or Playwright is missing; CI installs chromium with apt-get (.ci/run).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import Concierge
from tests.staff_helpers import AGENT, MANAGER, PASSWORD, add_team, base, client, say

CHROMIUM = os.environ.get("CONCIERGE_CHROMIUM", "/usr/bin/chromium")
playwright_api = pytest.importorskip("playwright.async_api")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no chromium at {CHROMIUM}")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"width": 375, "height": 740}
TIMEOUT_MS = 10_000


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def app(web_bot: Concierge) -> AsyncIterator[Concierge]:
    await add_team(web_bot)
    yield web_bot


async def _staff_page(browser: Any, app: Concierge, name: str, start: str = "/staff/tickets") -> Any:
    context = await browser.new_context(viewport=PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    await page.goto(base(app) + start)
    assert "/staff/login" in page.url  # logged out: sent to the login page
    await page.fill("input[name=name]", name)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("form button[type=submit]")
    await page.wait_for_url(lambda url: "/staff/login" not in url)
    return page


async def _fits_phone(page: Any) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1, f"page is {width}px wide on a {PHONE['width']}px screen"


async def test_log_in_claim_and_reply_reaches_the_guest(browser: Any, app: Concierge) -> None:
    guest_context = await browser.new_context(viewport=PHONE)
    guest_context.set_default_timeout(TIMEOUT_MS)
    guest = await guest_context.new_page()
    await guest.goto(base(app) + "/")
    await guest.wait_for_selector("li.msg--bot")  # the welcome
    await guest.fill("#text", "转人工，房间的空调坏了")
    await guest.press("#text", "Enter")
    await guest.wait_for_selector("li.msg--bot:has-text('#1')")

    staff = await _staff_page(browser, app, AGENT)
    await staff.wait_for_selector("a[href='/staff/tickets/1']")
    await _fits_phone(staff)
    await staff.click("a[href='/staff/tickets/1']")
    await staff.wait_for_selector("blockquote.words:has-text('空调坏了')")
    await _fits_phone(staff)
    await staff.click("button[name=claim]")
    await staff.wait_for_selector(".flash")
    assert "/staff/tickets/1" in staff.url and AGENT in await staff.inner_text(".facts")

    await staff.fill("textarea[name=text]", "您好，工程师五分钟内到。")
    await staff.click("button[name=send]")
    await staff.wait_for_selector(".transcript .line.staff:has-text('工程师五分钟内到')")
    await guest.wait_for_selector("li.msg--staff:has-text('您好，工程师五分钟内到。')")
    await guest_context.close()


async def test_search_a_chinese_conversation_and_open_a_report(browser: Any, app: Concierge) -> None:
    async with client() as http:
        await say(http, app, "zh", "浴室的热水器不出热水，麻烦尽快处理")
        await say(http, app, "en", "What time does breakfast start?")
        await say(http, app, "handoff", "转人工")  # a ticket for the charts
    page = await _staff_page(browser, app, MANAGER)
    await page.click("nav a[href='/staff/logs']")
    await page.fill("input[name=q]", "热水器")
    await page.click("form.filters button")
    await page.wait_for_url(lambda url: "q=" in url)
    results = await page.inner_text("tbody")
    assert "热水器不出热水" in results and "breakfast" not in results
    await _fits_phone(page)

    await page.click("nav a[href='/staff/reports']")
    await page.wait_for_selector("svg.chart")
    assert await page.locator("svg.chart").count() == 7
    assert await page.locator("svg.chart rect").count() >= 1  # the day's tickets are drawn
    await _fits_phone(page)


async def test_guest_script_is_shown_as_text(browser: Any, app: Concierge) -> None:
    async with client() as http:
        await say(http, app, "evil", "转人工 <script>window.__pwned = 1</script><img src=x onerror=\"window.__pwned=2\">")
    page = await _staff_page(browser, app, MANAGER, start="/staff/tickets/1")
    assert page.url.endswith("/staff/tickets/1")  # back where we were sent from
    words = await page.inner_text("blockquote.words")
    assert "<script>window.__pwned = 1</script>" in words
    for path in ("/staff/tickets/1", "/staff/tickets", "/staff/logs", "/staff/guests/1"):
        await page.goto(base(app) + path)
        assert await page.evaluate("window.__pwned") is None, path
        assert await page.locator("main script, main img").count() == 0, path


async def test_agent_cannot_open_a_manager_page(browser: Any, app: Concierge) -> None:
    page = await _staff_page(browser, app, AGENT)
    for path in ("/staff/reports", "/staff/logs", "/staff/export/tickets.csv"):
        response = await page.goto(base(app) + path)
        assert response is not None and response.status == 403, path
    assert await page.locator("nav a[href='/staff/reports']").count() == 0


async def test_post_without_the_csrf_token_is_rejected(browser: Any, app: Concierge) -> None:
    async with client() as http:
        await say(http, app, "g1", "转人工")
    page = await _staff_page(browser, app, MANAGER, start="/staff/tickets/1")
    await page.evaluate("document.querySelectorAll('input[name=csrf]').forEach((field) => field.remove())")
    async with page.expect_response(lambda response: response.url.endswith("/claim")) as info:
        await page.click("button[name=claim]")
    response = await info.value
    assert response.status == 403
    async with app.db.read() as session:
        from crm.models import Ticket

        ticket = await session.get(Ticket, 1)
    assert ticket is not None and ticket.status == "open"


async def test_logged_out_access_redirects_to_login(browser: Any, app: Concierge) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    for path in ("/staff/tickets", "/staff/reports", "/staff/guests/1"):
        await page.goto(base(app) + path)
        assert "/staff/login?next=" in page.url
        assert await page.locator("input[type=password]").count() == 1
    await context.close()


async def test_a_new_hotels_pages_load_without_a_browser_error(browser: Any, app: Concierge) -> None:
    """What a new hotel sees first, with the browser's console open: the chat page (a few messages, one of
    them markup) and every dashboard page a manager's menu offers. Chrome's own icon request was a 404
    on every page."""
    problems: list[str] = []

    def watch(page: Any) -> None:
        page.on("console", lambda message: problems.append(f"{page.url}: {message.text}")
                if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))
        page.on("response", lambda response: problems.append(f"{response.status} {response.url}")
                if response.status >= 400 else None)

    context = await browser.new_context(viewport=PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    context.on("page", watch)
    guest = await context.new_page()
    await guest.goto(base(app) + "/")
    await guest.wait_for_selector("li.msg--bot")
    for text in ("你好", "<b>早餐</b>几点？😀", "转人工"):
        await guest.fill("#text", text)
        await guest.press("#text", "Enter")
    await guest.wait_for_selector("li.msg--bot:has-text('#1')")
    await guest.wait_for_timeout(500)  # the icon is fetched after the page's load
    staff = await _staff_page(browser, app, MANAGER)
    watch(staff)
    await staff.reload()
    for href in await staff.eval_on_selector_all("nav a", "links => links.map(link => link.getAttribute('href'))"):
        await staff.goto(base(app) + href)
        await staff.wait_for_load_state("load")
    await staff.goto(base(app) + "/staff/tickets/1")
    await staff.wait_for_timeout(500)
    assert problems == []
