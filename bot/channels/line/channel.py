"""LINE Messaging API: ``POST /line/webhook`` in; ``/v2/bot/message/reply`` while the event's reply token
is fresh, else ``/v2/bot/message/push``.

LINE signs each webhook body (``X-Line-Signature``: Base64 of HMAC-SHA256 with the channel secret) and
re-delivers events it could not hand over; every event carries a ``webhookEventId``, on which the inbox
dedupes. A reply token may be used once and only shortly after the event, and replies do not count
against the monthly message quota, so the first message of a turn goes as a reply when it can. Pushes
carry an ``X-Line-Retry-Key`` derived from the outbox row, so LINE itself refuses to deliver a retried
push twice.

Choices are quick-reply buttons with postback data (at most 13, labels at most 20 characters); a press
comes back as a ``postback`` event whose data is the button's value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import uuid
from datetime import timedelta
from typing import Any

from aiohttp import web
from sqlmodel import select

from bot.channels.webhook import Capabilities, PlatformChannel, Update, clip, numbered, split_text
from bot.config import LineSettings
from bot.delivery import Deliverer, SendError
from bot.pipeline import Pipeline
from crm.models import InboxUpdate, Outbox
from crm.types import utcnow
from handlers.types import Inbound, split_command

log = logging.getLogger(__name__)

CHANNEL = "line"
WEBHOOK_PATH = "/line/webhook"
SIGNATURE_HEADER = "X-Line-Signature"
CAPABILITIES = Capabilities(max_text=5000, max_buttons=13, max_label=20)
MAX_MESSAGES = 5  # per reply or push request
MAX_POSTBACK_DATA = 300
RETRY_KEYS = uuid.UUID("5b1c7e52-9d0e-4c53-8f55-2a4f3c3f2e10")  # namespace: same row, same key


def updates_of(body: dict[str, Any]) -> list[Update]:
    """The events of one webhook call, each as (webhookEventId, userId, event). Verification calls from
    the console carry no events."""
    found: list[Update] = []
    for event in body.get("events") or []:
        if not isinstance(event, dict) or not isinstance(event.get("webhookEventId"), str):
            continue
        source = event.get("source") if isinstance(event.get("source"), dict) else {}
        found.append((event["webhookEventId"], str(source.get("userId", "")), event))
    return found


def parse_event(event: dict[str, Any]) -> Inbound | None:
    """A guest's Inbound from a stored event; None for groups, rooms and events that are not a guest
    speaking to us (read receipts, unsend, membership changes)."""
    source = event.get("source")
    if not isinstance(source, dict) or source.get("type") != "user" or not source.get("userId"):
        return None
    user = str(source["userId"])
    common: dict[str, Any] = {"channel": CHANNEL, "external_id": user, "chat_id": user}
    kind = event.get("type")
    if kind == "follow":
        return Inbound(**common, command="start")
    if kind == "unfollow":  # blocked: consent withdrawn, and no message can reach them any more
        return Inbound(**common, command="stop", silent=True)
    if kind == "postback" and isinstance(event.get("postback"), dict):
        return Inbound(**common, button=str(event["postback"].get("data", ""))[:MAX_POSTBACK_DATA])
    if kind == "message" and isinstance(event.get("message"), dict):
        message = event["message"]
        if message.get("type") != "text":
            return Inbound(**common, text="")  # sticker, image…: the router asks for words
        text = str(message.get("text", ""))
        command, rest = split_command(text)
        return Inbound(**common, command=command, text=rest if command else text)
    return None


def render(text: str, buttons: list[dict[str, str]]) -> list[dict[str, Any]]:
    """LINE message objects for one reply: long text split, choices as quick replies on the last piece."""
    usable = [b for b in buttons if len(b["value"].encode()) <= MAX_POSTBACK_DATA]
    if len(usable) > CAPABILITIES.max_buttons:  # more than LINE shows: numbered lines, answered with the number
        text, usable = numbered(text, usable), []
    messages: list[dict[str, Any]] = [
        {"type": "text", "text": piece} for piece in split_text(text, CAPABILITIES.max_text)
    ]
    if usable:
        messages[-1]["quickReply"] = {
            "items": [
                {
                    "type": "action",
                    "action": {
                        "type": "postback",
                        "label": clip(button["label"], CAPABILITIES.max_label),
                        "data": button["value"],
                        "displayText": button["label"][:300],
                    },
                }
                for button in usable
            ]
        }
    return messages


class LineChannel(PlatformChannel):
    name = CHANNEL

    def __init__(self, settings: LineSettings, pipeline: Pipeline, deliverer: Deliverer) -> None:
        self.settings = settings
        self._used_tokens: set[str] = set()
        super().__init__(pipeline, deliverer, settings, parse_event)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(WEBHOOK_PATH, self._webhook)

    async def _webhook(self, request: web.Request) -> web.Response:
        def signed(raw: bytes) -> bool:
            expected = base64.b64encode(hmac.new(self.settings.channel_secret.encode(), raw, hashlib.sha256).digest())
            return hmac.compare_digest(request.headers.get(SIGNATURE_HEADER, "").encode(), expected)

        return await self.accept_signed_json(request, signed, updates_of)

    # --- sending -------------------------------------------------------------------------------------

    async def send(self, row: Outbox) -> str | None:
        if not row.chat_id:
            raise SendError("no LINE user id", retry=False)
        messages = render(row.text, row.buttons)
        token = await self._fresh_reply_token(row)
        if token is not None:
            self._used_tokens.add(token)  # once, whatever the outcome: a used or stale token is never valid again
            status, data = await self._post(
                "reply", row.chat_id, {"replyToken": token, "messages": messages[:MAX_MESSAGES]}
            )
            if status == 200:
                messages = messages[MAX_MESSAGES:]
                if not messages:
                    return _sent_id(data)
            elif status != 400:  # 400: the token had expired after all; the message goes as a push
                raise _error(status, data)
        sent: str | None = None
        for index in range(0, len(messages), MAX_MESSAGES):
            headers = {"X-Line-Retry-Key": str(uuid.uuid5(RETRY_KEYS, f"{row.id}:{index}"))}
            status, data = await self._post(
                "push", row.chat_id, {"to": row.chat_id, "messages": messages[index : index + MAX_MESSAGES]}, headers
            )
            if status == 409:  # LINE already accepted this retry key: delivered before, not again
                continue
            if status != 200:
                raise _error(status, data)
            sent = _sent_id(data)
        return sent

    async def _fresh_reply_token(self, row: Outbox) -> str | None:
        """The reply token of the guest's latest event, if this row answers it and it is still fresh."""
        if row.kind != "reply":
            return None
        async with self.pipeline.db.read(short=True) as session:
            latest = (
                await session.execute(
                    select(InboxUpdate.payload, InboxUpdate.received_at)
                    .where(InboxUpdate.channel == CHANNEL, InboxUpdate.chat_key == row.chat_id)
                    .order_by(InboxUpdate.id.desc())  # type: ignore[union-attr]
                    .limit(1)
                )
            ).first()
        if latest is None:
            return None
        payload, received = latest
        token = payload.get("replyToken") if isinstance(payload, dict) else None
        fresh = utcnow() - received < timedelta(seconds=self.settings.reply_token_seconds)
        if not isinstance(token, str) or not fresh or token in self._used_tokens or row.created_at < received:
            return None
        return token

    async def _post(
        self, kind: str, chat_id: str, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        url = f"{self.settings.api_base_url.rstrip('/')}/v2/bot/message/{kind}"
        auth = {"Authorization": f"Bearer {self.settings.channel_access_token}", **(headers or {})}
        return await self.client.request("POST", url, chat_id=chat_id, body=body, headers=auth)


def _sent_id(data: Any) -> str | None:
    sent = data.get("sentMessages") if isinstance(data, dict) else None
    return str(sent[-1].get("id"))[:100] if isinstance(sent, list) and sent else None


def _error(status: int, data: Any) -> SendError:
    message = str(data.get("message", ""))[:200] if isinstance(data, dict) else ""
    if status == 429 or status >= 500:
        return SendError(f"LINE answered HTTP {status} {message}")
    return SendError(f"LINE refused (HTTP {status}) {message}", retry=False)
