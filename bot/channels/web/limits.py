"""What one client may do on the web chat: new sessions per address per minute, sessions per socket, and
messages per address per second.

Every new session id creates a guest, an identity and conversation rows; without a limit one script made
2 000 guests in a minute. A session is new when the store has no identity for it; the sessions seen recently are
remembered (a bounded table, oldest out first) so a guest's every message does not ask the store. A trusted proxy's
own requests (its health checks: the address *is* the proxy's) are not limited.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from bot.client_address import client_address, is_trusted_proxy
from bot.client_limits import Lru, Pace, TooMany, Window
from bot.config import Settings
from crm.db import Database
from crm.guests import find_identity

KNOWN_SESSIONS = 100_000
MAX_MESSAGE_WAIT = 10.0  # seconds a paced message may wait for its turn before it is refused


class GuestLimits:
    def __init__(self, settings: Settings, db: Database, channel: str) -> None:
        self.db = db
        self.channel = channel
        self.trusted = tuple(settings.http.trusted_proxies)
        self.per_minute = settings.limits.web_sessions_per_minute
        self.per_socket = settings.limits.sessions_per_socket
        self.new_sessions = Window(max(1, self.per_minute), 60.0)
        self._known: Lru[bool] = Lru(KNOWN_SESSIONS)
        rate = settings.limits.web_messages_per_second
        self.messages = Pace(rate, settings.limits.web_message_burst, MAX_MESSAGE_WAIT) if rate > 0 else None

    async def pace(self, request: web.BaseRequest) -> None:
        """Wait until the address may send another message, or raise ``TooMany``. Without this one client's
        flood (answered as fast as it came) took most of the event loop: the other guests' replies took 3-5
        times as long. The per-guest flood rule (handlers.flood) cannot help: the client uses many sessions."""
        if self.messages is None:
            return
        address = client_address(request, self.trusted)
        if is_trusted_proxy(address, self.trusted):
            return
        try:
            wait = self.messages.reserve(address)
        except TooMany:
            # Refused, but not at once: a quick 429 is an invitation to ask again, and answering refusals as
            # fast as hundreds of connections ask took the loop from everyone (guests' p50 9 → 385 ms).
            await asyncio.sleep(self.messages.max_wait)
            raise
        if wait > 0:
            await asyncio.sleep(wait)

    async def admit(self, request: web.BaseRequest, session: str) -> None:
        """Let ``session`` talk, or raise ``TooMany`` when its address opened too many new ones."""
        if self.per_minute == 0 or self._known.get(session):
            return
        address = client_address(request, self.trusted)
        if not is_trusted_proxy(address, self.trusted) and not await self._exists(session):
            # The page's socket and its first message arrive together: whichever passes the window first
            # records the session, and the others (which were waiting on the store) must not count it again.
            if self._known.get(session):
                return
            wait = self.new_sessions.hit(address)
            if wait > 0:
                raise TooMany(wait)
        self._known.put(session, True)

    async def _exists(self, session: str) -> bool:
        async with self.db.read() as tx:
            return await find_identity(tx, self.channel, session) is not None

    def too_many(self, retry_after: TooMany, what: str = "new chat sessions") -> web.Response:
        return web.json_response(
            {"error": f"too many {what} from this address; try again later", "retry_after": retry_after.header},
            status=429, headers={"Retry-After": retry_after.header},
        )
