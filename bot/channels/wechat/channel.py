"""WeChat Official Account: ``GET/POST /wechat/callback`` in, the customer-service message API out.

WeChat gives a callback 5 seconds and then retries it (three tries, the same ``MsgId``). We answer
``success`` as soon as the message is in the durable inbox and send every reply through
``/cgi-bin/message/custom/send``, which needs an access token: fetched with the AppSecret, valid 2 hours,
kept in the store for every worker and refreshed 5 minutes before it expires or when WeChat calls it
invalid (errcode 40001 / 42001 / 40014).

WeChat text has no inline buttons: choices are numbered lines the guest answers with the number. Outside
the 48-hour customer-service window only a template message may go, and only templates named in the
configuration are used; anything else is held for staff.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree

from aiohttp import web

from bot.channels.webhook import Capabilities, PlatformChannel, PlatformClient, numbered, split_text, within_window
from bot.channels.wechat import crypto
from bot.config import WeChatSettings
from bot.delivery import Deliverer, SendError
from bot.pipeline import Pipeline
from crm import channel_tokens
from crm.models import Outbox
from crm.types import utcnow
from handlers.types import Inbound, split_command

log = logging.getLogger(__name__)

CHANNEL = "wechat"
CALLBACK_PATH = "/wechat/callback"
# Customer-service text is limited in bytes (2048); 600 characters stay under it even in Chinese (3 bytes each)
CAPABILITIES = Capabilities(max_text=600, max_buttons=0, max_label=40, window=timedelta(hours=48))
REFRESH_AHEAD = timedelta(minutes=5)
TOKEN_INVALID = {40001, 40014, 42001}
OUTSIDE_WINDOW = {45015, 45047}  # response out of time limit / too many messages since the guest wrote
GONE = {43004, 40003}  # unsubscribed, unknown openid: no use trying again
SUCCESS = "success"  # what WeChat expects when we reply later through the customer-service API


def parse_xml(body: bytes) -> dict[str, str]:
    """The flat ``<xml>`` of a callback as a dict of its children's text. No DTDs: a callback never has one."""
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise ValueError("DTD in a callback")
    root = ElementTree.fromstring(body)
    if root.tag != "xml":
        raise ValueError("not a WeChat callback")
    return {child.tag: (child.text or "") for child in root}


def update_key(message: dict[str, str]) -> str | None:
    """The platform's id for dedupe: ``MsgId`` for messages; events have none, and WeChat's documentation
    says to dedupe them on the sender and ``CreateTime``."""
    if message.get("MsgId"):
        return message["MsgId"]
    if message.get("MsgType") == "event" and message.get("FromUserName") and message.get("CreateTime"):
        return f"{message['FromUserName']}:{message['CreateTime']}:{message.get('Event', '')}"
    return None


def parse_message(payload: dict[str, Any]) -> Inbound | None:
    """A guest's Inbound from a stored callback; None for what is not a guest talking to us (menu links,
    location reports, template delivery receipts)."""
    openid = payload.get("FromUserName")
    if not isinstance(openid, str) or not openid:
        return None
    common: dict[str, Any] = {"channel": CHANNEL, "external_id": openid, "chat_id": openid}
    kind = payload.get("MsgType")
    if kind == "event":
        event = str(payload.get("Event", "")).lower()
        if event == "subscribe":
            return Inbound(**common, command="start")
        if event == "unsubscribe":  # the guest left: consent withdrawn, nothing can reach them any more
            return Inbound(**common, command="stop", silent=True)
        if event == "click" and payload.get("EventKey"):
            return Inbound(**common, button=str(payload["EventKey"])[:64])
        return None
    if kind == "text":
        text = str(payload.get("Content", ""))
        command, rest = split_command(text)
        return Inbound(**common, command=command, text=rest if command else text)
    return Inbound(**common, text="")  # image, voice, video…: the router asks for words


class AccessToken:
    """The account's access token, shared through the store by every worker."""

    def __init__(self, settings: WeChatSettings, pipeline: Pipeline, client: PlatformClient) -> None:
        self.settings = settings
        self.db = pipeline.db
        self.client = client
        self._token: str | None = None
        self._expires = utcnow()
        self._lock = asyncio.Lock()

    async def get(self) -> str:
        if self._token is not None and self._expires - utcnow() > REFRESH_AHEAD:
            return self._token
        async with self._lock:  # one fetch per process; another worker's shows up in the store
            if self._token is not None and self._expires - utcnow() > REFRESH_AHEAD:
                return self._token
            async with self.db.read(short=True) as session:
                row = await channel_tokens.current(session, CHANNEL, now=utcnow() + REFRESH_AHEAD)
                if row is not None:
                    self._token, self._expires = row.token, row.expires_at
                    return row.token
            return await self._fetch()

    async def _fetch(self) -> str:
        """Fetched outside any transaction: two workers refreshing at once both get a token, and WeChat keeps
        the older one valid for a few minutes; a worker whose token is refused re-reads the store."""
        url = (
            f"{self.settings.api_base_url.rstrip('/')}/cgi-bin/token?grant_type=client_credential"
            f"&appid={quote(self.settings.app_id)}&secret={quote(self.settings.app_secret)}"
        )
        status, data = await self.client.request("GET", url, delivers=False)
        token = data.get("access_token") if isinstance(data, dict) else None
        if status != 200 or not isinstance(token, str) or not token:
            errcode = data.get("errcode") if isinstance(data, dict) else None
            raise SendError(f"access token not granted (HTTP {status}, errcode {errcode})")
        expires = utcnow() + timedelta(seconds=int(data.get("expires_in", 7200)))
        async with self.db.write(short=True) as session:
            await channel_tokens.store(session, CHANNEL, token, expires)
        self._token, self._expires = token, expires
        log.info("WeChat access token refreshed (valid until %s)", expires.isoformat(timespec="minutes"))
        return token

    async def refused(self, token: str) -> None:
        self._token = None
        async with self.db.write(short=True) as session:
            await channel_tokens.discard(session, CHANNEL, token)


class WeChatChannel(PlatformChannel):
    name = CHANNEL
    windowed = True

    def __init__(self, settings: WeChatSettings, pipeline: Pipeline, deliverer: Deliverer) -> None:
        self.settings = settings
        self._key = crypto.aes_key(settings.aes_key) if settings.aes_key else None
        super().__init__(pipeline, deliverer, settings, parse_message)
        self.token = AccessToken(settings, pipeline, self.client)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(CALLBACK_PATH, self._verify)
        app.router.add_post(CALLBACK_PATH, self._callback)

    def _signed(self, request: web.Request) -> bool:
        query = request.query
        return crypto.signature_ok(
            query.get("signature", ""), self.settings.token, query.get("timestamp", ""), query.get("nonce", "")
        )

    async def _verify(self, request: web.Request) -> web.Response:
        """The console's "submit" of the server URL: echo ``echostr`` when the signature is ours."""
        if not self._signed(request):
            return web.Response(status=403, text="forbidden")
        return web.Response(text=request.query.get("echostr", ""))

    async def _callback(self, request: web.Request) -> web.Response:
        if not self._signed(request):
            return web.Response(status=403, text="forbidden")
        body = await request.read()  # at most the server's client_max_size (64 KiB), else 413
        try:
            message = parse_xml(body)
            if request.query.get("encrypt_type") == "aes":
                message = self._decrypted(request, message)
                if message is None:
                    return web.Response(status=403, text="forbidden")
        except (ValueError, ElementTree.ParseError):
            return web.Response(status=400, text="malformed")
        key = update_key(message)
        if key is None:
            return web.Response(text=SUCCESS)  # nothing we could dedupe, and nothing a guest said
        await self.intake.accept([(key, message.get("FromUserName", ""), message)])
        return web.Response(text=SUCCESS)

    def _decrypted(self, request: web.Request, envelope: dict[str, str]) -> dict[str, str] | None:
        encrypted = envelope.get("Encrypt", "")
        query = request.query
        if self._key is None or not crypto.signature_ok(
            query.get("msg_signature", ""),
            self.settings.token,
            query.get("timestamp", ""),
            query.get("nonce", ""),
            encrypted,
        ):
            return None
        try:
            return parse_xml(crypto.decrypt(self._key, encrypted, self.settings.app_id))
        except crypto.CryptoError:
            return None

    # --- sending -------------------------------------------------------------------------------------

    async def send(self, row: Outbox) -> str | None:
        if not row.chat_id:
            raise SendError("no openid", retry=False)
        if not await within_window(self.pipeline, CHANNEL, row.chat_id, CAPABILITIES.window):
            template = self.settings.campaign_template_id if row.kind == "campaign" else self.settings.reply_template_id
            if not template:
                raise SendError("outside WeChat's 48-hour window and no template configured", hold=True)
            data = {self.settings.template_field: {"value": row.text}}
            return await self._call(
                "message/template/send", row.chat_id, {"touser": row.chat_id, "template_id": template, "data": data}
            )
        sent: str | None = None
        for piece in split_text(numbered(row.text, row.buttons), CAPABILITIES.max_text):
            sent = await self._call(
                "message/custom/send",
                row.chat_id,
                {"touser": row.chat_id, "msgtype": "text", "text": {"content": piece}},
            )
        return sent

    async def _call(self, path: str, chat_id: str, body: dict[str, Any]) -> str | None:
        for _ in range(2):  # a refused token is refreshed once; the refused request delivered nothing
            token = await self.token.get()
            url = f"{self.settings.api_base_url.rstrip('/')}/cgi-bin/{path}?access_token={quote(token)}"
            status, data = await self.client.request("POST", url, chat_id=chat_id, body=body)
            errcode = int(data.get("errcode", 0) or 0) if isinstance(data, dict) else -1
            if status == 200 and errcode == 0:
                msgid = data.get("msgid") if isinstance(data, dict) else None
                return str(msgid) if msgid is not None else None
            if errcode in TOKEN_INVALID:
                await self.token.refused(token)
                continue
            if errcode in OUTSIDE_WINDOW:
                raise SendError(f"WeChat refused: outside the customer-service window (errcode {errcode})", hold=True)
            if errcode in GONE:
                raise SendError(f"WeChat refused: guest unreachable (errcode {errcode})", retry=False)
            raise SendError(f"WeChat answered HTTP {status}, errcode {errcode}")
        raise SendError("access token refused twice")
