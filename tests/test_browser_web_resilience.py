"""The web chat in chromium across reloads, an outage and another site: history with the staff member's
name after a reload, an unanswered message re-sent (same id, answered once) when the server is back, and
the widget snippet on a hotel page served from another origin — allowed only from configured origins."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web
from playwright.async_api import Page, expect
from sqlmodel import func, select

from bot.app import Concierge
from crm.models import Message
from nlp import Analyzer
from tests.browser import chromium
from tests.conftest import SettingsFactory
from tests.staff_helpers import MANAGER, add_team, client, login, reply_on_ticket

COMPLAINT = "我要投诉，空调坏了一直滴水，房间 1203"


async def _send(page: Page, text: str) -> None:
    before = await page.locator(".msg--bot").count()
    await page.fill("#text", text)
    await page.click("#send")
    await expect(page.locator(".msg--bot")).not_to_have_count(before)


async def _lines(app: Concierge, text: str) -> int:
    async with app.db.read() as session:
        return int((await session.execute(select(func.count()).select_from(Message).where(
            Message.direction == "in", Message.text == text))).scalar_one())


async def test_a_reload_shows_the_conversation_and_who_answered(web_bot: Concierge) -> None:
    await add_team(web_bot)
    async with chromium() as browser:
        context = await browser.new_context(locale="zh-CN")
        page = await context.new_page()
        await page.goto(f"http://127.0.0.1:{web_bot.port}/")
        await expect(page.locator("#hotel")).to_have_text("云栖酒店")
        await expect(page.locator(".msg--bot").first).to_contain_text("欢迎来到云栖酒店")
        await _send(page, COMPLAINT)
        await page.close()  # the guest closes the tab; a manager answers meanwhile
        async with client() as http:
            await login(http, web_bot, MANAGER)
            async with web_bot.db.read() as session:
                ticket_id = (await session.execute(
                    select(Message.ticket_id).where(Message.text == COMPLAINT))).scalar_one()
            await reply_on_ticket(http, web_bot, ticket_id, "工程师十分钟内到，请稍候")
        page = await context.new_page()
        await page.goto(f"http://127.0.0.1:{web_bot.port}/")
        staff = page.locator(".msg--staff")
        await expect(staff).to_contain_text("工程师十分钟内到，请稍候")
        await expect(staff.locator(".msg__name")).to_have_text(MANAGER)
        texts = await page.locator(".msg").all_inner_texts()
        assert texts.index(next(t for t in texts if COMPLAINT in t)) < len(texts) - 1  # in context, reply last
        assert "欢迎来到云栖酒店" in texts[0] and await page.locator(".msg--guest").count() == 1  # no new /start
        await context.close()
    assert await _lines(web_bot, "/start") == 1


async def test_an_unanswered_message_is_resent_when_the_server_is_back(
        make_settings: SettingsFactory, analyzer: Analyzer) -> None:
    app = Concierge(make_settings(), analyzer=analyzer)
    await app.start()
    port = app.port
    async with chromium() as browser:
        context = await browser.new_context(locale="zh-CN")
        page = await context.new_page()
        await page.goto(f"http://127.0.0.1:{port}/")
        await expect(page.locator(".msg--bot").first).to_contain_text("欢迎")
        # the network drops the request: the message waits, and survives a reload
        await page.route("**/api/chat", lambda route: route.abort())
        await page.fill("#text", "早餐几点开始")
        await page.click("#send")
        await expect(page.locator("#status")).to_be_visible()
        await page.reload()
        await expect(page.locator(".msg--guest.msg--sending")).to_have_text("早餐几点开始")
        # then the server goes away altogether and comes back on the same address
        await app.stop()
        await page.unroute("**/api/chat")
        app = Concierge(make_settings(CONCIERGE_HTTP_PORT=str(port)), analyzer=analyzer)
        await app.start()
        try:
            await expect(page.locator(".msg--bot").last).to_contain_text("6:30", timeout=30_000)
            await expect(page.locator(".msg--sending")).to_have_count(0)
            await expect(page.locator("#status")).to_be_hidden()
            await page.reload()  # answered once, and nothing left to re-send
            await expect(page.locator(".msg--bot").last).to_contain_text("6:30")
            assert await page.evaluate("localStorage.getItem('concierge.pending')") == "[]"
        finally:
            await context.close()
            await app.stop()
    again = Concierge(make_settings(), analyzer=analyzer)
    await again.prepare_store()
    try:
        assert await _lines(again, "早餐几点开始") == 1
    finally:
        await again.db.dispose()


@asynccontextmanager
async def _hotel_site(bot_port_of: dict[str, int]) -> AsyncIterator[str]:
    """The hotel's own website on another origin, with the README's snippet pasted in."""

    async def home(_request: web.Request) -> web.Response:
        snippet = f'<script src="http://127.0.0.1:{bot_port_of["port"]}/static/widget.js" async></script>'
        return web.Response(text=f"<!doctype html><title>Cloud Rest Hotel</title><h1>Welcome</h1>{snippet}",
                            content_type="text/html")

    site_app = web.Application()
    site_app.router.add_get("/", home)
    runner = web.AppRunner(site_app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    finally:
        await runner.cleanup()


async def test_the_widget_on_the_hotels_site_and_nowhere_else(
        make_settings: SettingsFactory, analyzer: Analyzer) -> None:
    bot_port: dict[str, int] = {}
    async with _hotel_site(bot_port) as hotel, _hotel_site(bot_port) as stranger:
        app = Concierge(make_settings(CONCIERGE_HTTP_EMBED_ORIGINS=hotel), analyzer=analyzer)
        await app.start()
        bot_port["port"] = app.port
        try:
            async with chromium() as browser:
                page = await browser.new_page(locale="en-US")
                await page.goto(hotel + "/")
                await page.click("#concierge-widget-button")
                chat = page.frame_locator("#concierge-widget-frame")
                await expect(chat.locator("#hotel")).to_have_text("Cloud Rest Hotel")
                await expect(chat.locator(".msg--bot").first).to_contain_text("Cloud Rest")
                await chat.locator("#text").fill("What time is breakfast?")
                await chat.locator("#send").click()
                await expect(chat.locator(".msg--bot").last).to_contain_text("6:30")

                other = await browser.new_page(locale="en-US")
                await other.goto(stranger + "/")
                await other.click("#concierge-widget-button")
                frame = await (await other.wait_for_selector("#concierge-widget-frame")).content_frame()
                assert frame is not None
                await frame.wait_for_load_state()
                assert await frame.locator("#composer").count() == 0, frame.url  # refused: not a configured origin
        finally:
            await app.stop()
