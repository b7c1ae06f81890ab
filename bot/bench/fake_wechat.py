"""An in-process WeChat for tests and benchmarks: the API server our sender talks to (access token,
customer-service and template messages) and the client side that posts callbacks to our webhook the way
WeChat does — signed, optionally encrypted (safe mode), retried with the same MsgId.

Signatures and encryption here follow WeChat's published rules with hashlib and ``cryptography`` directly;
they deliberately do not call ``bot.channels.wechat.crypto``, so a mistake there cannot hide itself.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import os
import struct
import time
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.bench.fake_platform import WEBHOOK_TIMEOUT, FakeServer


@dataclass
class WeChatSent:
    openid: str
    text: str
    kind: str = "text"  # text | template
    template_id: str | None = None
    at: float = 0.0


@dataclass
class FakeWeChat(FakeServer):
    app_id: str = "wx-test-app"
    app_secret: str = "wechat-secret-not-real"
    token: str = "wechat-callback-token"
    aes_key: str = ""  # 43 characters for safe mode
    window_hours: float = 48
    token_lifetime: int = 7200
    sent: list[WeChatSent] = field(default_factory=list)
    token_fetches: int = 0
    errors: list[int] = field(default_factory=list)
    last_heard: dict[str, float] = field(default_factory=dict)  # openid -> when they last wrote (fake clock)
    _tokens: set[str] = field(default_factory=set)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _msg_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(7_000_000_000))

    # --- the API server ----------------------------------------------------------------------------

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/cgi-bin/token", self._token)
        app.router.add_post("/cgi-bin/message/custom/send", self._custom_send)
        app.router.add_post("/cgi-bin/message/template/send", self._template_send)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {
            "CONCIERGE_WECHAT_TOKEN": self.token,
            "CONCIERGE_WECHAT_APP_ID": self.app_id,
            "CONCIERGE_WECHAT_APP_SECRET": self.app_secret,
            "CONCIERGE_WECHAT_API_BASE_URL": self.base_url,
        }
        if self.aes_key:
            env["CONCIERGE_WECHAT_AES_KEY"] = self.aes_key
        return env

    def revoke_tokens(self) -> None:
        """As when the secret is reset or the token expires early: the next call answers 40001."""
        self._tokens.clear()

    async def _token(self, request: web.Request) -> web.Response:
        query = request.query
        if query.get("grant_type") != "client_credential" or query.get("appid") != self.app_id:
            return web.json_response({"errcode": 40013, "errmsg": "invalid appid"})
        if query.get("secret") != self.app_secret:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        self.token_fetches += 1
        token = f"ACCESS_TOKEN_{next(self._ids)}"
        self._tokens.add(token)
        return web.json_response({"access_token": token, "expires_in": self.token_lifetime})

    def _refusal(self, request: web.Request) -> dict[str, Any] | None:
        if request.query.get("access_token") not in self._tokens:
            self.errors.append(40001)
            return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}
        return None

    async def _custom_send(self, request: web.Request) -> web.Response:
        if (refusal := self._refusal(request)) is not None:
            return web.json_response(refusal)
        body = await request.json()
        openid = body["touser"]
        heard = self.last_heard.get(openid)
        if heard is None or time.time() - heard > self.window_hours * 3600:
            self.errors.append(45015)
            return web.json_response(
                {"errcode": 45015, "errmsg": "response out of time limit or subscription is canceled"}
            )
        if body.get("msgtype") != "text" or len(body["text"]["content"].encode()) > 2048:
            return web.json_response({"errcode": 45002, "errmsg": "content size out of limit"})
        self.sent.append(WeChatSent(openid, body["text"]["content"], at=time.monotonic()))
        self.received()
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _template_send(self, request: web.Request) -> web.Response:
        if (refusal := self._refusal(request)) is not None:
            return web.json_response(refusal)
        body = await request.json()
        text = " ".join(str(value.get("value", "")) for value in body.get("data", {}).values())
        self.sent.append(WeChatSent(body["touser"], text, "template", body.get("template_id"), time.monotonic()))
        self.received()
        return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": next(self._ids)})

    def to(self, openid: str) -> list[WeChatSent]:
        return [message for message in self.sent if message.openid == openid]

    # --- the callback side (WeChat calling us) ------------------------------------------------------

    def text_xml(self, openid: str, text: str, msg_id: int | None = None) -> tuple[str, str]:
        """(MsgId, XML) of a guest's text message."""
        msg_id = msg_id if msg_id is not None else next(self._msg_ids)
        xml = (
            f"<xml><ToUserName><![CDATA[gh_hotel]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content>{escape(text)}</Content><MsgId>{msg_id}</MsgId></xml>"
        )
        return str(msg_id), xml

    def event_xml(self, openid: str, event: str, key: str = "", create_time: int | None = None) -> str:
        return (
            f"<xml><ToUserName><![CDATA[gh_hotel]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{create_time or int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[{event}]]></Event><EventKey><![CDATA[{escape(key)}]]></EventKey></xml>"
        )

    def _sign(self, *parts: str) -> str:
        return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()

    def _encrypt(self, xml: str) -> str:
        key = base64.b64decode(self.aes_key + "=")
        message = xml.encode()
        plain = os.urandom(16) + struct.pack(">I", len(message)) + message + self.app_id.encode()
        pad = 32 - len(plain) % 32
        plain += bytes([pad]) * pad
        encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()

    async def deliver(
        self,
        client: aiohttp.ClientSession,
        port: int,
        xml: str,
        *,
        openid: str | None = None,
        bad_signature: bool = False,
    ) -> tuple[int, str]:
        """POST one callback to our webhook as WeChat does; returns (status, body)."""
        timestamp, nonce = str(int(time.time())), os.urandom(4).hex()
        params = {"timestamp": timestamp, "nonce": nonce, "signature": self._sign(self.token, timestamp, nonce)}
        body = xml
        if self.aes_key:
            encrypted = self._encrypt(xml)
            params.update(encrypt_type="aes", msg_signature=self._sign(self.token, timestamp, nonce, encrypted))
            if openid:
                params["openid"] = openid
            body = f"<xml><ToUserName><![CDATA[gh_hotel]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
        if bad_signature:
            params["signature" if not self.aes_key else "msg_signature"] = "0" * 40
        if openid:
            self.last_heard[openid] = time.time()
        async with client.post(
            f"http://127.0.0.1:{port}/wechat/callback",
            params=params,
            data=body.encode(),
            timeout=WEBHOOK_TIMEOUT,
        ) as response:
            return response.status, await response.text()

    async def say(self, client: aiohttp.ClientSession, port: int, openid: str, text: str) -> tuple[int, str]:
        _msg_id, xml = self.text_xml(openid, text)
        return await self.deliver(client, port, xml, openid=openid)

    async def verify(self, client: aiohttp.ClientSession, port: int, *, good: bool = True) -> tuple[int, str]:
        """The console's URL check (GET with echostr)."""
        timestamp, nonce, echostr = str(int(time.time())), "n0nce", "echo-1234"
        signature = self._sign(self.token, timestamp, nonce) if good else "f" * 40
        params = {"signature": signature, "timestamp": timestamp, "nonce": nonce, "echostr": echostr}
        async with client.get(f"http://127.0.0.1:{port}/wechat/callback", params=params) as response:
            return response.status, await response.text()
