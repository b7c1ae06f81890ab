"""WhatsApp Cloud API: ``GET/POST /whatsapp/webhook`` in, ``POST /{phone_number_id}/messages`` out.

Meta signs every webhook with ``X-Hub-Signature-256: sha256=<HMAC-SHA256 of the raw body, app secret>``
and re-delivers one it did not get a 200 for; messages are deduplicated on their ``wamid`` id. Status
callbacks (sent, delivered, read) are acknowledged and not stored.

Choices become interactive reply buttons (at most 3, titles at most 20 characters) or, with more, a list
(at most 10 rows); a press comes back as ``interactive.button_reply.id`` / ``list_reply.id``, which is the
button's value. Outside the 24-hour customer-service window only an approved template may be sent:
campaigns and late staff replies use the templates named in the configuration, anything else is held for
staff instead of being dropped.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import timedelta
from typing import Any

from aiohttp import web

from bot.channels.webhook import Capabilities, PlatformChannel, Update, clip, numbered, split_text, within_window
from bot.config import WhatsAppSettings
from bot.delivery import Deliverer, SendError
from bot.pipeline import Pipeline
from crm.models import Guest, Outbox
from handlers.types import Inbound, split_command

log = logging.getLogger(__name__)

CHANNEL = "whatsapp"
WEBHOOK_PATH = "/whatsapp/webhook"
SIGNATURE_HEADER = "X-Hub-Signature-256"
CAPABILITIES = Capabilities(max_text=4096, max_buttons=3, max_label=20, window=timedelta(hours=24))
MAX_INTERACTIVE_BODY = 1024
MAX_LIST_ROWS = 10
MAX_ROW_TITLE = 24
OUTSIDE_WINDOW = {131047}  # "re-engagement message": more than 24 hours since the guest wrote
# Meta's template language codes for our locales
TEMPLATE_LANGUAGES = {"zh-Hans": "zh_CN", "zh-Hant": "zh_HK", "en": "en"}


def _text_of(message: dict[str, Any]) -> tuple[str, str | None]:
    """(typed text, pressed button id) of one inbound message."""
    kind = message.get("type")
    if kind == "text" and isinstance(message.get("text"), dict):
        return str(message["text"].get("body", "")), None
    if kind == "interactive" and isinstance(message.get("interactive"), dict):
        interactive = message["interactive"]
        reply = interactive.get("button_reply") or interactive.get("list_reply") or {}
        if isinstance(reply, dict) and isinstance(reply.get("id"), str):
            return "", reply["id"][:256]
    if kind == "button" and isinstance(message.get("button"), dict):  # a template's quick-reply button
        return "", str(message["button"].get("payload", ""))[:256]
    return "", None


def updates_of(body: dict[str, Any]) -> list[Update]:
    """The guest messages of one webhook call, each as (wamid, wa_id, the message with its sender's name)."""
    found: list[Update] = []
    for entry in body.get("entry") or []:
        for change in (entry.get("changes") or []) if isinstance(entry, dict) else []:
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict):
                continue
            names = {
                str(contact.get("wa_id")): str((contact.get("profile") or {}).get("name", ""))
                for contact in value.get("contacts") or []
                if isinstance(contact, dict)
            }
            for message in value.get("messages") or []:  # "statuses" (sent/delivered/read) are not stored
                if isinstance(message, dict) and isinstance(message.get("id"), str) and message.get("from"):
                    sender = str(message["from"])
                    found.append((message["id"], sender, {"message": message, "name": names.get(sender, "")}))
    return found


def parse_message(payload: dict[str, Any]) -> Inbound | None:
    message = payload.get("message")
    if not isinstance(message, dict) or not message.get("from"):
        return None
    sender = str(message["from"])
    common: dict[str, Any] = {
        "channel": CHANNEL,
        "external_id": sender,
        "chat_id": sender,
        "display_name": str(payload.get("name", ""))[:200],
    }
    text, button = _text_of(message)
    if button is not None:
        return Inbound(**common, button=button)
    command, rest = split_command(text)
    return Inbound(**common, command=command, text=rest if command else text)


def render(text: str, buttons: list[dict[str, str]], menu: str) -> list[dict[str, Any]]:
    """The Cloud API message objects (without ``to``) for one reply: long text split, choices as reply
    buttons or a list (opened by ``menu``) on the last piece."""
    if not buttons:
        return [{"type": "text", "text": {"body": piece}} for piece in split_text(text, CAPABILITIES.max_text)]
    if len(buttons) > MAX_LIST_ROWS:  # more than a list holds: numbered lines, answered with the number
        return render(numbered(text, buttons), [], menu)
    pieces = split_text(text, MAX_INTERACTIVE_BODY)
    messages = [{"type": "text", "text": {"body": piece}} for piece in pieces[:-1]]
    body = {"text": pieces[-1] or "…"}
    if len(buttons) <= CAPABILITIES.max_buttons:
        action: dict[str, Any] = {
            "buttons": [
                {
                    "type": "reply",
                    "reply": {"id": button["value"], "title": clip(button["label"], CAPABILITIES.max_label)},
                }
                for button in buttons
            ]
        }
        interactive = {"type": "button", "body": body, "action": action}
    else:
        rows = [{"id": button["value"], "title": clip(button["label"], MAX_ROW_TITLE)} for button in buttons]
        interactive = {"type": "list", "body": body, "action": {"button": clip(menu, 20), "sections": [{"rows": rows}]}}
    messages.append({"type": "interactive", "interactive": interactive})
    return messages


class WhatsAppChannel(PlatformChannel):
    name = CHANNEL
    windowed = True
    greet_first = True  # WhatsApp has no "started the chat" event

    def __init__(self, settings: WhatsAppSettings, pipeline: Pipeline, deliverer: Deliverer) -> None:
        self.settings = settings
        super().__init__(pipeline, deliverer, settings, parse_message)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(WEBHOOK_PATH, self._verify)
        app.router.add_post(WEBHOOK_PATH, self._webhook)

    async def _verify(self, request: web.Request) -> web.Response:
        """Meta's subscription check: echo ``hub.challenge`` when the verify token is ours."""
        given = request.query.get("hub.verify_token", "")
        if request.query.get("hub.mode") != "subscribe" or not hmac.compare_digest(
            given.encode(), self.settings.verify_token.encode()
        ):
            return web.Response(status=403, text="forbidden")
        return web.Response(text=request.query.get("hub.challenge", ""))

    async def _webhook(self, request: web.Request) -> web.Response:
        def signed(raw: bytes) -> bool:
            expected = "sha256=" + hmac.new(self.settings.app_secret.encode(), raw, hashlib.sha256).hexdigest()
            return hmac.compare_digest(request.headers.get(SIGNATURE_HEADER, "").encode(), expected.encode())

        return await self.accept_signed_json(request, signed, updates_of)

    # --- sending -------------------------------------------------------------------------------------

    async def send(self, row: Outbox) -> str | None:
        if not row.chat_id:
            raise SendError("no WhatsApp id", retry=False)
        language = await self._language(row)
        if await within_window(self.pipeline, CHANNEL, row.chat_id, CAPABILITIES.window):
            menu = self.pipeline.catalog.text(language, "channel.choose")
            messages = render(row.text, row.buttons, menu)
        else:
            messages = [self._template(row, language)]
        sent: str | None = None
        for message in messages:
            sent = await self._post(row.chat_id, message)
        return sent

    def _template(self, row: Outbox, language: str) -> dict[str, Any]:
        name = self.settings.campaign_template if row.kind == "campaign" else self.settings.reply_template
        if not name:
            raise SendError("outside WhatsApp's 24-hour window and no template configured", hold=True)
        return {
            "type": "template",
            "template": {
                "name": name,
                "language": {"code": TEMPLATE_LANGUAGES.get(language, "en")},
                "components": [{"type": "body", "parameters": [{"type": "text", "text": row.text[:1024]}]}],
            },
        }

    async def _language(self, row: Outbox) -> str:
        """The guest's language: the list's button and the template's translation are in it."""
        if row.guest_id is None:
            return self.pipeline.settings.default_language
        async with self.pipeline.db.read(short=True) as session:
            guest = await session.get(Guest, row.guest_id)
        return guest.language if guest is not None else self.pipeline.settings.default_language

    async def _post(self, to: str, message: dict[str, Any]) -> str | None:
        url = f"{self.settings.api_base_url.rstrip('/')}/{self.settings.phone_number_id}/messages"
        body = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, **message}
        status, data = await self.client.request(
            "POST", url, chat_id=to, body=body, headers={"Authorization": f"Bearer {self.settings.token}"}
        )
        if status == 200 and isinstance(data, dict) and data.get("messages"):
            return str(data["messages"][0].get("id", ""))[:100] or None
        error = (data or {}).get("error", {}) if isinstance(data, dict) else {}
        code = error.get("code") if isinstance(error, dict) else None
        if code in OUTSIDE_WINDOW:
            raise SendError(f"WhatsApp refused: outside the 24-hour window (code {code})", hold=True)
        if status == 429 or code in (130429, 131056, 4, 80007):
            raise SendError(f"WhatsApp rate limit (code {code})")
        if 400 <= status < 500:
            raise SendError(f"WhatsApp refused (HTTP {status}, code {code})", retry=False)
        raise SendError(f"WhatsApp answered HTTP {status}")
