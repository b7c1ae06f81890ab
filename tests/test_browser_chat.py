"""A new guest in a real browser: book, change, cancel, ask for towels, complain, ask for a person."""

from __future__ import annotations

from playwright.async_api import Page, expect
from sqlmodel import select

from bot.app import Concierge
from crm.models import Booking, Ticket
from tests.browser import chromium


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
