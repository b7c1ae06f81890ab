"""An in-process WhatsApp Cloud API for tests and benchmarks: the Graph API messages endpoint our sender
talks to, checking what Meta checks (bearer token, reply buttons ≤ 3 with titles ≤ 20 characters, list
rows ≤ 10, the 24-hour window outside which only templates go), and the webhook side that posts signed
notifications to us the way Meta does.

The ``X-Hub-Signature-256`` here is computed with hmac directly from Meta's published rule, not with our
channel's code.
"""

from __future__ import annotations

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
class WhatsAppSent:
    to: str
    kind: str  # text | interactive | template
    text: str
    body: dict[str, Any]

    @property
    def choices(self) -> list[tuple[str, str]]:
        """(id, title) of the reply buttons or list rows offered."""
        interactive = self.body.get("interactive") or {}
        action = interactive.get("action") or {}
        if interactive.get("type") == "button":
            return [(b["reply"]["id"], b["reply"]["title"]) for b in action.get("buttons", [])]
        if interactive.get("type") == "list":
            return [(row["id"], row["title"]) for section in action.get("sections", []) for row in section["rows"]]
        return []


@dataclass
class FakeWhatsApp(FakeServer):
    token: str = "EAAG-test-token-not-real"
    phone_number_id: str = "106540352242922"
    app_secret: str = "meta-app-secret-not-real"
    verify_token: str = "hotel-verify-me"
    window_hours: float = 24
    sent: list[WhatsAppSent] = field(default_factory=list)
    errors: list[int] = field(default_factory=list)
    last_heard: dict[str, float] = field(default_factory=dict)  # wa_id -> when they last wrote
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v21.0/{phone}/messages", self._messages)

    def env(self) -> dict[str, str]:
        return {
            "CONCIERGE_WHATSAPP_TOKEN": self.token,
            "CONCIERGE_WHATSAPP_PHONE_NUMBER_ID": self.phone_number_id,
            "CONCIERGE_WHATSAPP_APP_SECRET": self.app_secret,
            "CONCIERGE_WHATSAPP_VERIFY_TOKEN": self.verify_token,
            "CONCIERGE_WHATSAPP_API_BASE_URL": f"http://127.0.0.1:{self.port}/v21.0",
        }

    def _error(self, code: int, message: str, status: int = 400) -> web.Response:
        self.errors.append(code)
        return web.json_response({"error": {"message": message, "type": "OAuthException", "code": code}}, status=status)

    async def _messages(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return self._error(190, "Invalid OAuth access token", 401)
        if request.match_info["phone"] != self.phone_number_id:
            return self._error(100, "Unsupported post request")
        body = await request.json()
        to, kind = str(body.get("to")), body.get("type")
        if body.get("messaging_product") != "whatsapp":
            return self._error(100, "messaging_product is required")
        heard = self.last_heard.get(to)
        if kind != "template" and (heard is None or time.time() - heard > self.window_hours * 3600):
            return self._error(131047, "Re-engagement message")
        if kind == "text":
            text = body["text"]["body"]
            if len(text) > 4096:
                return self._error(100, "text too long")
        elif kind == "interactive":
            interactive = body["interactive"]
            text = interactive["body"]["text"]
            action = interactive["action"]
            if len(text) > 1024:
                return self._error(131009, "body too long")
            if interactive["type"] == "button":
                buttons = action["buttons"]
                if not 1 <= len(buttons) <= 3 or any(len(b["reply"]["title"]) > 20 for b in buttons):
                    return self._error(131009, "Parameter value is not valid (buttons)")
            elif interactive["type"] == "list":
                rows = [row for section in action["sections"] for row in section["rows"]]
                if (
                    not 1 <= len(rows) <= 10
                    or any(len(row["title"]) > 24 for row in rows)
                    or len(action["button"]) > 20
                ):
                    return self._error(131009, "Parameter value is not valid (list)")
            else:
                return self._error(100, "unsupported interactive type")
        elif kind == "template":
            template = body["template"]
            params = [p["text"] for c in template.get("components", []) for p in c.get("parameters", [])]
            text = f"[{template['name']}:{template['language']['code']}] " + " ".join(params)
        else:
            return self._error(100, f"unsupported type {kind}")
        self.sent.append(WhatsAppSent(to, kind, text, body))
        self.received()
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": f"wamid.OUT{next(self._ids):08d}"}],
            }
        )

    def to(self, wa_id: str) -> list[WhatsAppSent]:
        return [message for message in self.sent if message.to == wa_id]

    # --- the webhook side (Meta calling us) ----------------------------------------------------------

    def _envelope(self, value: dict[str, Any]) -> dict[str, Any]:
        """A webhook notification around one change's value, as Meta nests it."""
        metadata = {"display_phone_number": "15550000000", "phone_number_id": self.phone_number_id}
        change = {"field": "messages", "value": {"messaging_product": "whatsapp", "metadata": metadata, **value}}
        return {"object": "whatsapp_business_account", "entry": [{"id": "WABA_ID", "changes": [change]}]}

    def notification(self, wa_id: str, message: dict[str, Any], name: str = "Guest") -> dict[str, Any]:
        return self._envelope(
            {
                "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
                "messages": [{"from": wa_id, "timestamp": str(int(time.time())), **message}],
            }
        )

    def text_message(self, wa_id: str, text: str, wamid: str | None = None) -> dict[str, Any]:
        return self.notification(
            wa_id, {"id": wamid or f"wamid.IN{next(self._ids):08d}", "type": "text", "text": {"body": text}}
        )

    def button_message(self, wa_id: str, button_id: str, title: str = "", *, as_list: bool = False) -> dict[str, Any]:
        kind = "list_reply" if as_list else "button_reply"
        return self.notification(
            wa_id,
            {
                "id": f"wamid.IN{next(self._ids):08d}",
                "type": "interactive",
                "interactive": {"type": kind, kind: {"id": button_id, "title": title}},
            },
        )

    def status_notification(self, wa_id: str) -> dict[str, Any]:
        status = {"id": "wamid.OUT00000001", "status": "delivered", "timestamp": "1", "recipient_id": wa_id}
        return self._envelope({"statuses": [status]})

    async def deliver(
        self,
        client: aiohttp.ClientSession,
        port: int,
        body: dict[str, Any],
        *,
        bad_signature: bool = False,
    ) -> int:
        raw = json.dumps(body).encode()
        secret = b"wrong-secret" if bad_signature else self.app_secret.encode()
        signature = "sha256=" + hmac.new(secret, raw, hashlib.sha256).hexdigest()
        for value in body.get("entry", []):
            for change in value.get("changes", []):
                for message in change["value"].get("messages", []):
                    self.last_heard[message["from"]] = time.time()
        return await post_webhook(client, port, "/whatsapp/webhook", raw, {"X-Hub-Signature-256": signature})
