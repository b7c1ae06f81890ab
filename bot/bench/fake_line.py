"""An in-process LINE Messaging API for tests and benchmarks: the reply and push endpoints our sender
talks to, checking what LINE checks (bearer token, one-time reply tokens that expire, at most 5 messages,
quick replies ≤ 13 with labels ≤ 20 characters, ``X-Line-Retry-Key`` accepted once), and the webhook side
that posts signed events to us the way LINE does, re-deliveries keeping their ``webhookEventId``.

``X-Line-Signature`` here is Base64 of HMAC-SHA256 computed with hmac directly from LINE's published
rule, not with our channel's code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from bot.bench.fake_platform import FakeServer, post_webhook


@dataclass
class LineSent:
    to: str
    via: str  # reply | push
    text: str
    message: dict[str, Any]

    @property
    def choices(self) -> list[tuple[str, str]]:
        """(postback data, label) of the quick replies offered."""
        items = (self.message.get("quickReply") or {}).get("items", [])
        return [(item["action"]["data"], item["action"]["label"]) for item in items]


@dataclass
class FakeLine(FakeServer):
    channel_secret: str = "line-channel-secret-not-real"
    access_token: str = "line-access-token-not-real"
    reply_ttl: float = 60.0  # seconds a reply token stays valid
    sent: list[LineSent] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    _tokens: dict[str, tuple[str, float]] = field(default_factory=dict)  # reply token -> (user, issued)
    _retry_keys: set[str] = field(default_factory=set)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v2/bot/message/reply", self._reply)
        app.router.add_post("/v2/bot/message/push", self._push)

    def env(self) -> dict[str, str]:
        return {
            "CONCIERGE_LINE_CHANNEL_SECRET": self.channel_secret,
            "CONCIERGE_LINE_CHANNEL_ACCESS_TOKEN": self.access_token,
            "CONCIERGE_LINE_API_BASE_URL": f"http://127.0.0.1:{self.port}",
        }

    def _refuse(self, status: int, message: str) -> web.Response:
        self.refused.append(message)
        return web.json_response({"message": message}, status=status)

    def _check(self, request: web.Request, messages: Any) -> web.Response | None:
        if request.headers.get("Authorization") != f"Bearer {self.access_token}":
            return self._refuse(401, "Authentication failed")
        if not isinstance(messages, list) or not 1 <= len(messages) <= 5:
            return self._refuse(400, "The request body has 1 error(s): messages size must be between 1 and 5")
        for message in messages:
            if message.get("type") != "text" or len(message.get("text", "")) > 5000:
                return self._refuse(400, "invalid text message")
            items = (message.get("quickReply") or {}).get("items", [])
            if len(items) > 13 or any(len(i["action"]["label"]) > 20 or len(i["action"]["data"]) > 300 for i in items):
                return self._refuse(400, "invalid quick reply")
        return None

    def _record(self, to: str, via: str, messages: list[dict[str, Any]]) -> web.Response:
        ids = []
        for message in messages:
            self.sent.append(LineSent(to, via, message["text"], message))
            ids.append({"id": str(next(self._ids)), "quoteToken": "q"})
        self.received()
        return web.json_response({"sentMessages": ids})

    async def _reply(self, request: web.Request) -> web.Response:
        body = await request.json()
        if (refusal := self._check(request, body.get("messages"))) is not None:
            return refusal
        issued = self._tokens.pop(body.get("replyToken", ""), None)
        if issued is None or time.monotonic() - issued[1] > self.reply_ttl:
            return self._refuse(400, "Invalid reply token")
        return self._record(issued[0], "reply", body["messages"])

    async def _push(self, request: web.Request) -> web.Response:
        body = await request.json()
        if (refusal := self._check(request, body.get("messages"))) is not None:
            return refusal
        key = request.headers.get("X-Line-Retry-Key")
        if key is not None:
            if key in self._retry_keys:
                return self._refuse(409, "The retry key is already accepted")
            self._retry_keys.add(key)
        return self._record(str(body["to"]), "push", body["messages"])

    def to(self, user: str) -> list[LineSent]:
        return [message for message in self.sent if message.to == user]

    # --- the webhook side (LINE calling us) ----------------------------------------------------------

    def event(self, user: str, kind: str, **extra: Any) -> dict[str, Any]:
        """One event from a user; message, postback and follow events get a fresh reply token."""
        event: dict[str, Any] = {
            "type": kind,
            "mode": "active",
            "timestamp": int(time.time() * 1000),
            "source": {"type": "user", "userId": user},
            "webhookEventId": f"01HEVENT{next(self._ids):018d}",
            "deliveryContext": {"isRedelivery": False},
            **extra,
        }
        if kind in ("message", "postback", "follow"):
            token = f"rt{next(self._ids):030d}"
            self._tokens[token] = (user, time.monotonic())
            event["replyToken"] = token
        return event

    def text(self, user: str, text: str) -> dict[str, Any]:
        return self.event(user, "message", message={"type": "text", "id": str(next(self._ids)), "text": text})

    def postback(self, user: str, data: str) -> dict[str, Any]:
        return self.event(user, "postback", postback={"data": data})

    async def deliver(
        self,
        client: aiohttp.ClientSession,
        port: int,
        *events: dict[str, Any],
        bad_signature: bool = False,
    ) -> int:
        raw = json.dumps({"destination": "Ubot000", "events": list(events)}).encode()
        secret = b"not-the-secret" if bad_signature else self.channel_secret.encode()
        signature = base64.b64encode(hmac.new(secret, raw, hashlib.sha256).digest()).decode()
        return await post_webhook(client, port, "/line/webhook", raw, {"X-Line-Signature": signature})
