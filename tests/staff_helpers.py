"""Shared by the staff dashboard tests: staff accounts, logging in over HTTP, guests talking on the web chat."""

from __future__ import annotations

import json
import re
from typing import Any

import aiohttp

from bot.app import Concierge
from crm.staff import add_staff

PASSWORD = "correct horse battery"
AGENT, MANAGER, ADMIN, CHEF = "li.na", "wang.jl", "root", "chef"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def add_team(app: Concierge) -> None:
    async with app.db.write() as session:
        await add_staff(session, AGENT, "agent", PASSWORD, department="front_desk")
        await add_staff(session, CHEF, "agent", PASSWORD, department="food_beverage")
        await add_staff(session, MANAGER, "manager", PASSWORD)
        await add_staff(session, ADMIN, "admin", PASSWORD)


def base(app: Concierge) -> str:
    return f"http://127.0.0.1:{app.port}"


def csrf_of(page: str) -> str:
    match = _CSRF.search(page)
    assert match, "no CSRF field on the page"
    return match.group(1)


def client() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))  # cookies for 127.0.0.1


async def login(http: aiohttp.ClientSession, app: Concierge, name: str, password: str = PASSWORD) -> aiohttp.ClientResponse:
    async with http.get(base(app) + "/staff/login") as response:
        token = csrf_of(await response.text())
    async with http.post(base(app) + "/staff/login", data={"csrf": token, "name": name, "password": password},
                         allow_redirects=False) as response:
        await response.read()
        return response


async def say(http: aiohttp.ClientSession, app: Concierge, session: str, text: str) -> dict[str, Any]:
    async with http.post(base(app) + "/api/chat", json={"session": session, "text": text}) as response:
        assert response.status == 200
        return await response.json()  # type: ignore[no-any-return]


async def reply_on_ticket(http: aiohttp.ClientSession, app: Concierge, ticket_id: int, text: str) -> str:
    """A logged-in agent answers the guest from the ticket page; returns the page the reply leads to."""
    async with http.get(base(app) + f"/staff/tickets/{ticket_id}") as response:
        token = csrf_of(await response.text())
    async with http.post(base(app) + f"/staff/tickets/{ticket_id}/reply", data={"csrf": token, "text": text}) as response:
        assert response.status == 200
        return await response.text()


async def next_news(stream: aiohttp.ClientResponse) -> dict[str, Any]:
    """The next SSE message on the stream (comments and heartbeats skipped)."""
    event, data = "", ""
    while True:
        line = (await stream.content.readline()).decode()
        assert line, "the stream ended"
        line = line.rstrip("\n")
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            data = line[6:]
        elif line == "" and data:
            return {"event": event, **json.loads(data)}


async def open_stream(http: aiohttp.ClientSession, app: Concierge) -> aiohttp.ClientResponse:
    stream = await http.get(base(app) + "/staff/events", timeout=aiohttp.ClientTimeout(total=30))
    assert stream.status == 200 and stream.headers["Content-Type"].startswith("text/event-stream")
    assert (await stream.content.readline()).startswith(b"retry:")  # subscribed from here on
    return stream
