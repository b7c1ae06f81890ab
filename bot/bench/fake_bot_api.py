"""A small Bot API server (aiohttp) that speaks enough of Telegram for tests and benchmarks: the real
python-telegram-bot talks HTTP to it, exactly as to api.telegram.org or a self-hosted Bot API server.

It keeps an update queue with Telegram's confirmation semantics (an update is dropped once getUpdates is
called with a higher offset), records every sent message with its time, and can enforce Telegram's
limits by answering 429 with ``retry_after`` like the real server.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

from aiohttp import web

from bot.bench.fake_platform import FakeServer

BOT_ID = 4242


@dataclass
class Sent:
    chat_id: int
    text: str
    reply_markup: dict[str, Any] | None
    at: float
    message_id: int


@dataclass
class Edit:
    chat_id: int
    message_id: int
    text: str
    reply_markup: dict[str, Any] | None


@dataclass
class FakeBotApi(FakeServer):
    token: str = "4242:TEST-token-not-a-secret-aaaaaaaaaaaa"
    global_limit: float | None = None  # messages per second before answering 429
    per_chat_gap: float | None = None  # seconds between two messages to one private chat
    send_latency: float = 0.0  # seconds a sendMessage takes, like a real server's round trip
    sends_in_flight: int = 0
    most_sends_in_flight: int = 0
    updates: list[dict[str, Any]] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    callback_answers: list[str] = field(default_factory=list)
    callback_texts: dict[str, str] = field(default_factory=dict)  # callback id -> text shown to the user
    edits: list[Edit] = field(default_factory=list)
    webhook: dict[str, Any] = field(default_factory=dict)
    too_many: int = 0
    limited: list[str] = field(default_factory=list)  # why each 429 was given, for test messages
    fail_sends: set[int] = field(default_factory=set)  # sendMessage calls (1 = the first) answered 502 Bad Gateway
    send_calls: int = 0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))
    _new_update: asyncio.Event = field(default_factory=asyncio.Event)
    # A bot's getUpdates long poll is usually open when the fake stops: cut it off at once rather than
    # wait up to the poll timeout for it (Telegram, too, simply closes the connection).
    shutdown_timeout: ClassVar[float] = 0.01

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/bot{token}/{method}", self._dispatch)
        app.router.add_get("/bot{token}/{method}", self._dispatch)

    # --- what a test does as "Telegram users" -------------------------------------------------------
    def _user(self, user_id: int, language: str, first_name: str) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": language}

    def push_text(self, user_id: int, text: str, *, language: str = "zh-hans", first_name: str = "Guest",
                  chat_id: int | None = None, chat_type: str = "private") -> int:
        update_id = next(self._ids)
        chat = {"id": chat_id if chat_id is not None else user_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = first_name
        else:
            chat["title"] = "Staff"
        self.updates.append({
            "update_id": update_id,
            "message": {
                "message_id": next(self._message_ids), "date": int(time.time()), "chat": chat,
                "from": self._user(user_id, language, first_name), "text": text,
            },
        })
        self._new_update.set()
        return update_id

    def push_button(self, user_id: int, data: str, *, language: str = "zh-hans") -> int:
        update_id = next(self._ids)
        self.updates.append({
            "update_id": update_id,
            "callback_query": {
                "id": f"cb{update_id}", "chat_instance": "ci", "data": data,
                "from": self._user(user_id, language, "Guest"),
                "message": {"message_id": next(self._message_ids), "date": int(time.time()),
                            "chat": {"id": user_id, "type": "private", "first_name": "Guest"}, "text": "…"},
            },
        })
        self._new_update.set()
        return update_id

    def push_staff_button(self, user_id: int, data: str, *, chat_id: int, message_id: int,
                          first_name: str = "Staff") -> str:
        """A button pressed under message ``message_id`` of a group chat (a staff card); returns the callback id."""
        update_id = next(self._ids)
        callback_id = f"cb{update_id}"
        self.updates.append({
            "update_id": update_id,
            "callback_query": {
                "id": callback_id, "chat_instance": "ci", "data": data,
                "from": self._user(user_id, "zh-hans", first_name),
                "message": {"message_id": message_id, "date": int(time.time()),
                            "chat": {"id": chat_id, "type": "supergroup", "title": "Staff"}, "text": "…"},
            },
        })
        self._new_update.set()
        return callback_id

    def push_reply(self, user_id: int, text: str, *, chat_id: int, reply_to: int, first_name: str = "Staff") -> int:
        """A message in a group chat that replies to message ``reply_to`` (e.g. a staff card)."""
        update_id = next(self._ids)
        chat = {"id": chat_id, "type": "supergroup", "title": "Staff"}
        self.updates.append({
            "update_id": update_id,
            "message": {
                "message_id": next(self._message_ids), "date": int(time.time()), "chat": chat,
                "from": self._user(user_id, "zh-hans", first_name), "text": text,
                "reply_to_message": {"message_id": reply_to, "date": int(time.time()), "chat": chat, "text": "…"},
            },
        })
        self._new_update.set()
        return update_id

    def to_chat(self, chat_id: int) -> list[Sent]:
        return [message for message in self.sent if message.chat_id == chat_id]

    def progress(self) -> str:
        return f"; sent so far: {[(m.chat_id, m.text[:40]) for m in self.sent]}"

    # --- the Bot API -----------------------------------------------------------------------------------
    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            body = await request.json()
            return body if isinstance(body, dict) else {}
        form = await request.post()
        params: dict[str, Any] = {}
        for key, value in form.items():
            text = value if isinstance(value, str) else ""
            try:
                params[key] = json.loads(text)
            except ValueError:
                params[key] = text
        return params

    async def _dispatch(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        self.calls.append(method)
        params = await self._params(request)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return web.json_response({"ok": True, "result": True})
        return await handler(params)

    async def _m_getMe(self, _params: dict[str, Any]) -> web.Response:
        return _ok({"id": BOT_ID, "is_bot": True, "first_name": "Concierge", "username": "concierge_test_bot",
                    "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False})

    async def _m_getUpdates(self, params: dict[str, Any]) -> web.Response:
        offset = int(params.get("offset") or 0)
        if offset:
            self.updates = [update for update in self.updates if update["update_id"] >= offset]
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + timeout
        while not self.updates and time.monotonic() < deadline:
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), timeout=max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                break
        limit = int(params.get("limit") or 100)
        return _ok(self.updates[:limit])

    async def _m_sendMessage(self, params: dict[str, Any]) -> web.Response:
        self.send_calls += 1
        if self.send_calls in self.fail_sends:  # a proxy in front of Telegram failing: delivered or not, unknown
            return web.json_response({"ok": False, "error_code": 502, "description": "Bad Gateway"}, status=502)
        if self.send_latency:
            self.sends_in_flight += 1
            self.most_sends_in_flight = max(self.most_sends_in_flight, self.sends_in_flight)
            try:
                await asyncio.sleep(self.send_latency)
            finally:
                self.sends_in_flight -= 1
        chat_id = int(params["chat_id"])
        now = time.monotonic()
        if self._limited(chat_id, now):
            self.too_many += 1
            return web.json_response(
                {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
                 "parameters": {"retry_after": 1}}, status=429)
        text = str(params.get("text", ""))
        if len(text) > 4096:
            return web.json_response({"ok": False, "error_code": 400, "description": "Bad Request: message is too long"}, status=400)
        message_id = next(self._message_ids)
        markup = params.get("reply_markup")
        self.sent.append(Sent(chat_id, text, markup if isinstance(markup, dict) else None, now, message_id))
        self.received()
        return _ok({"message_id": message_id, "date": int(time.time()), "text": text,
                    "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"}})

    def _limited(self, chat_id: int, now: float) -> bool:
        if self.global_limit is not None:
            recent = [m for m in self.sent[-int(self.global_limit) * 2:] if now - m.at < 1.0]
            if len(recent) >= self.global_limit:
                self.limited.append(f"over {self.global_limit:g}/s")
                return True
        if self.per_chat_gap is not None:
            last = next((m for m in reversed(self.sent) if m.chat_id == chat_id), None)
            if last is not None and now - last.at < self.per_chat_gap:
                self.limited.append(f"chat {chat_id} again after {now - last.at:.3f}s")
                return True
        return False

    async def _m_answerCallbackQuery(self, params: dict[str, Any]) -> web.Response:
        self.callback_answers.append(str(params.get("callback_query_id")))
        if params.get("text"):
            self.callback_texts[str(params.get("callback_query_id"))] = str(params["text"])
        return _ok(True)

    async def _m_editMessageText(self, params: dict[str, Any]) -> web.Response:
        chat_id, message_id = int(params["chat_id"]), int(params["message_id"])
        original = next((m for m in self.sent if m.chat_id == chat_id and m.message_id == message_id), None)
        if original is None:
            return web.json_response({"ok": False, "error_code": 400, "description": "Bad Request: message to edit not found"}, status=400)
        markup = params.get("reply_markup")
        text = str(params.get("text", ""))
        if text == original.text and markup == original.reply_markup:
            return web.json_response({"ok": False, "error_code": 400, "description": "Bad Request: message is not modified"}, status=400)
        original.text, original.reply_markup = text, markup if isinstance(markup, dict) else None
        self.edits.append(Edit(chat_id, message_id, text, original.reply_markup))
        self.received()
        return _ok({"message_id": message_id, "date": int(time.time()), "edit_date": int(time.time()), "text": text,
                    "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"}})

    async def _m_editMessageReplyMarkup(self, params: dict[str, Any]) -> web.Response:
        chat_id, message_id = int(params["chat_id"]), int(params["message_id"])
        original = next((m for m in self.sent if m.chat_id == chat_id and m.message_id == message_id), None)
        if original is None:
            return web.json_response({"ok": False, "error_code": 400, "description": "Bad Request: message to edit not found"}, status=400)
        markup = params.get("reply_markup")
        original.reply_markup = markup if isinstance(markup, dict) else None
        self.edits.append(Edit(chat_id, message_id, original.text, original.reply_markup))
        self.received()
        return _ok({"message_id": message_id, "date": int(time.time()), "text": original.text,
                    "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"}})

    async def _m_setWebhook(self, params: dict[str, Any]) -> web.Response:
        self.webhook = params
        return _ok(True)

    async def _m_deleteWebhook(self, _params: dict[str, Any]) -> web.Response:
        self.webhook = {}
        return _ok(True)


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})
