"""Messages staff start, delivered to web-chat guests over their open WebSocket.

The web chat answers a guest in the HTTP/WebSocket response, so nothing else ever had to reach a web
guest. A staff reply is different: it is written to the outbox as channel ``web`` and this sender pushes
it to every socket the guest's session has open. A process only claims rows for sessions whose sockets
it holds (``sessions``), so with several workers the one the guest is connected to delivers. Rows for a
guest who is away stay pending for a minute, then are *held* (as is a row whose socket closed between claim
and send); held rows become due again when the guest comes back.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import Callable

from aiohttp import WSCloseCode, web

from bot.channels.web.history import pushed_line
from bot.delivery import HELD
from crm.db import Database
from crm.models import Outbox
from crm.ticket_work import has_held, release_held

log = logging.getLogger(__name__)

CHANNEL = "web"


class WebPush:
    def __init__(self, db: Database, wake: Callable[[], None]) -> None:
        self.db = db
        self.wake = wake
        self._sockets: dict[str, set[web.WebSocketResponse]] = defaultdict(set)
        self._tasks: set[asyncio.Task[None]] = set()

    async def close(self) -> None:
        """Cancel and wait for releases still running, before the store they use is disposed."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def disconnect(self) -> None:
        """Close every guest's socket at shutdown ("going away": the page reconnects to whoever serves next).
        An open socket's handler would otherwise hold the server's stop for its whole shutdown timeout."""
        sockets = {socket for group in self._sockets.values() for socket in group}
        await asyncio.gather(*(s.close(code=WSCloseCode.GOING_AWAY) for s in sockets), return_exceptions=True)

    def sessions(self) -> list[str]:
        """The sessions this process can push to now (for the outbox claim)."""
        return [session for session, sockets in self._sockets.items() if any(not s.closed for s in sockets)]

    def subscribe(self, session: str, socket: web.WebSocketResponse) -> None:
        """The guest of ``session`` is here; anything waiting for them goes out now."""
        known = socket in self._sockets.get(session, ())
        self._sockets[session].add(socket)
        if not known:
            self.wake()  # rows pending for this session are claimable by this process from now on
            task = asyncio.create_task(self._release(session))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def unsubscribe(self, socket: web.WebSocketResponse) -> None:
        for session in [s for s, sockets in self._sockets.items() if socket in sockets]:
            self._sockets[session].discard(socket)
            if not self._sockets[session]:
                del self._sockets[session]

    async def _release(self, session: str) -> None:
        try:
            async with self.db.read() as tx:
                if not await has_held(tx, CHANNEL, session):
                    return
            async with self.db.write() as tx:
                released = await release_held(tx, CHANNEL, session)
        except Exception:  # the guest can still chat; the rows stay held for the next visit
            log.exception("releasing held web messages failed")
            return
        if released:
            self.wake()

    async def send(self, row: Outbox) -> str | None:
        """Outbox sender for channel ``web``."""
        sockets = [s for s in self._sockets.get(row.chat_id or "", ()) if not s.closed]
        if not sockets:
            return HELD
        line_id, author, name = await pushed_line(self.db, row.guest_id, row.ticket_id, row.text)
        frame = json.dumps({
            "from": author, "staff_name": name, "message_id": line_id,
            "replies": [{"text": row.text, "buttons": row.buttons}],
        }, ensure_ascii=False)
        delivered = 0
        for socket in sockets:
            try:
                await socket.send_str(frame)
                delivered += 1
            except (ConnectionError, RuntimeError) as exc:  # closed while we were sending
                log.debug("web push failed: %s", exc)
        return f"ws:{delivered}" if delivered else HELD
