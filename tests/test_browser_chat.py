"""A new guest in a real browser: book, change, cancel, ask for towels, complain, ask for a person."""

from __future__ import annotations

from playwright.async_api import Page, expect
from sqlalchemy import func
from sqlmodel import select

from bot.app import Concierge
from bot.channels.web.chat import LIMITS_KEY
from crm.models import Booking, Guest, Message, Ticket
from nlp import Analyzer
from tests.browser import chromium
from tests.conftest import SettingsFactory, running
from tests.staff_helpers import MANAGER, add_team, login, reply_on_ticket
from tests.staff_helpers import client as staff_client


async def _send(page: Page, text: str) -> None:
    before = await page.locator(".msg--bot").count()
    await page.fill("#text", text)
    await page.click("#send")
    await expect(page.locator(".msg--bot")).not_to_have_count(before)


async def _last_bot(page: Page) -> str:
    return await page.locator(".msg--bot").last.inner_text()


async def _click(page: Page, label: str) -> None:
    before = await page.locator(".msg--bot").count()
    await page.locator(".msg--bot").last.get_by_role("button", name=label).click()
    await expect(page.locator(".msg--bot")).not_to_have_count(before)


async def test_new_guest_in_the_browser(web_bot: Concierge) -> None:
    async with chromium() as browser:
        page = await browser.new_page(locale="zh-CN", viewport={"width": 390, "height": 844})
        await page.goto(f"http://127.0.0.1:{web_bot.port}/")
        await expect(page.locator(".msg--bot").first).to_contain_text("欢迎来到云栖酒店")

        await _send(page, "我想订12月24号的大床房，住两晚，两个人")
        assert "姓名" in await _last_bot(page)
        await _send(page, "李雷")
        assert "¥1,376" in await _last_bot(page)
        await _click(page, "确认")
        assert "预订成功" in await _last_bot(page)

        await _send(page, "我想修改预订")
        await _send(page, "换成套房")
        assert "补差价" in await _last_bot(page)
        await _click(page, "确认")
        assert "修改成功" in await _last_bot(page)

        await _send(page, "取消预订")
        assert "免费" in await _last_bot(page)
        await _click(page, "确认取消")
        assert "已取消" in await _last_bot(page)

        await _send(page, "麻烦送两条毛巾到1208")
        assert "#1" in await _last_bot(page)
        await _send(page, "空调坏了半天没人管，太失望了")
        apology = await page.locator(".msg--bot").nth(-2).inner_text()
        assert "#2" in apology and "抱歉" in apology
        assert "#3" in await _last_bot(page) and "1208" in await _last_bot(page)  # the fault's work order
        await _send(page, "<script>window.pwned=1</script>转人工")
        assert "#4" in await _last_bot(page)
        assert await page.evaluate("window.pwned") is None
        assert "<script>" in await page.locator(".msg--guest").last.inner_text()

    async with web_bot.db.read() as session:
        booking = (await session.execute(select(Booking))).scalar_one()
        tickets = (await session.execute(select(Ticket.category).order_by(Ticket.id))).scalars().all()
    assert booking.status == "cancelled" and booking.room_type == "suite"
    assert list(tickets) == ["housekeeping", "complaint", "maintenance", "other"]  # the fault: a work order too


async def test_a_guest_over_the_new_chat_limit_is_told_and_answered_when_the_window_passes(
    make_settings: SettingsFactory, analyzer: Analyzer
) -> None:
    """One new chat per minute per address: a second browser's guest sees a polite line in their language,
    and their message goes out by itself after Retry-After (same id: answered once), staff replies too."""
    async with running(make_settings(CONCIERGE_LIMITS_WEB_SESSIONS_PER_MINUTE="1"), analyzer) as app:
        now = [1000.0]  # the limiter's clock, moved by the test; the page's clock is Playwright's
        app.web_app[LIMITS_KEY].new_sessions.clock = lambda: now[0]
        await add_team(app)
        url = f"http://127.0.0.1:{app.port}/"
        async with chromium() as browser:
            first = await browser.new_page(locale="en-US")
            await first.goto(url)
            await expect(first.locator(".msg--bot").first).to_contain_text("Welcome")
            await expect(first.locator("#busy")).to_be_hidden()

            second = await (await browser.new_context(locale="en-US")).new_page()
            await second.clock.install()  # its timers run on: the test fast-forwards past Retry-After
            await second.goto(url)
            await expect(second.locator("#busy")).to_be_visible()
            await expect(second.locator("#busy")).to_contain_text("Many guests are starting a chat")
            await expect(second.locator("#status")).to_be_hidden()  # not an outage
            await second.fill("#text", "I'd like to talk to a person")
            await second.click("#send")
            await expect(second.locator(".msg--guest.msg--sending")).to_have_count(1)
            assert await second.locator(".msg--bot").count() == 0

            now[0] += 60  # the window passes (server), and the page's Retry-After wait (browser)
            await second.clock.fast_forward(60_000)
            await expect(second.locator(".msg--bot").first).to_contain_text("Welcome")
            await expect(second.locator(".msg--bot").last).to_contain_text("#1")
            await expect(second.locator("#busy")).to_be_hidden()
            await expect(second.locator(".msg--sending")).to_have_count(0)

            async with staff_client() as staff:  # the refused socket connected again once the session was in
                await login(staff, app, MANAGER)
                await reply_on_ticket(staff, app, 1, "Hello, this is the front desk")
            await expect(second.locator(".msg--staff")).to_contain_text("this is the front desk")

        async with app.db.read() as session:
            handoff = (await session.execute(select(Message).where(Message.text == "I'd like to talk to a person"))).all()
            guests = (await session.execute(select(func.count()).select_from(Guest))).scalar_one()
        assert len(handoff) == 1 and guests == 2  # re-sent with the same id: processed once
