"""The HTTP side: health check, the web chat (page, JSON API, WebSocket) on one aiohttp server."""

from __future__ import annotations

import json
import logging
import re
import uuid
from pathlib import Path
from typing import Any, Final

from aiohttp import WSMsgType, web

from bot import static_files
from bot.channels.web.limits import GuestLimits
from bot.channels.web.push import WebPush
from bot.client_limits import TooMany
from bot.pipeline import Pipeline, Result
from handlers.types import Inbound, split_command

log = logging.getLogger(__name__)

CHANNEL = "web"
MAX_BODY = 64 * 1024
MAX_TEXT = 20_000
MAX_BUTTON = 64
_SESSION = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
PIPELINE_KEY = web.AppKey("pipeline", Pipeline)
PUSH_KEY = web.AppKey("web_push", WebPush)  # open sockets per session, for messages staff send to guests
LIMITS_KEY = web.AppKey("guest_limits", GuestLimits)  # new sessions per client address, sessions per socket


class BadRequest(ValueError):
    """The client sent something we cannot take; the message says what, for the developer's console."""


def parse_web_payload(payload: dict[str, Any]) -> Inbound:
    """Inbound from a stored web chat payload (already validated by ``validate``)."""
    return Inbound(
        channel=CHANNEL,
        external_id=payload["session"],
        chat_id=payload["session"],
        text=payload.get("text") or "",
        button=payload.get("button"),
        command=payload.get("command"),
        language_hint=payload.get("lang"),
        truncated=bool(payload.get("truncated")),
    )


def validate(body: Any) -> dict[str, Any]:
    """Check a client's message; returns the payload to store."""
    if not isinstance(body, dict):
        raise BadRequest("expected a JSON object")
    session = body.get("session")
    if not isinstance(session, str) or not _SESSION.match(session):
        raise BadRequest("'session' must be 1-100 letters, digits, '-' or '_'")
    payload: dict[str, Any] = {"session": session}
    text, button = body.get("text"), body.get("button")
    if button is not None:
        if not isinstance(button, str) or len(button.encode()) > MAX_BUTTON:
            raise BadRequest("'button' must be a string of at most 64 bytes")
        payload["button"] = button
    elif isinstance(text, str):
        command, rest = split_command(text)
        if command:
            payload["command"], text = command, rest
        payload["text"] = text[:MAX_TEXT]
        payload["truncated"] = len(text) > MAX_TEXT
    else:
        raise BadRequest("send 'text' (a string) or 'button'")
    lang = body.get("lang")
    if isinstance(lang, str) and len(lang) <= 16:
        payload["lang"] = lang
    message_id = body.get("id")
    payload["id"] = message_id if isinstance(message_id, str) and _ID.match(message_id) else uuid.uuid4().hex
    return payload


async def _submit(pipeline: Pipeline, payload: dict[str, Any]) -> Result:
    return await pipeline.submit(CHANNEL, f"{payload['session']}:{payload['id']}", payload["session"], payload)


def _answer(result: Result) -> dict[str, Any]:
    return {"replies": [reply.as_dict() for reply in result.replies]}


async def chat_api(request: web.Request) -> web.Response:
    try:
        payload = validate(await request.json())
    except (ValueError, BadRequest) as exc:  # json.JSONDecodeError is a ValueError
        message = str(exc) if isinstance(exc, BadRequest) else "body must be JSON"
        return web.json_response({"error": message}, status=400)
    limits = request.app[LIMITS_KEY]
    try:
        await limits.admit(request, payload["session"])
    except TooMany as refused:
        return limits.too_many(refused)
    result = await _submit(request.app[PIPELINE_KEY], payload)
    return web.json_response(_answer(result), dumps=_dumps)


async def chat_socket(request: web.Request) -> web.WebSocketResponse:
    socket = web.WebSocketResponse(heartbeat=30, max_msg_size=MAX_BODY)
    await socket.prepare(request)
    pipeline, push, limits = request.app[PIPELINE_KEY], request.app[PUSH_KEY], request.app[LIMITS_KEY]
    subscribed: set[str] = set()

    async def subscribe(session: str) -> str | None:
        """Subscribe, or say why not: a bounded number of sessions per socket, new ones within the limit."""
        if session not in subscribed:
            if len(subscribed) >= limits.per_socket:
                return f"at most {limits.per_socket} sessions on one connection"
            try:
                await limits.admit(request, session)
            except TooMany as refused:
                return f"too many new chat sessions from this address; try again in {refused.header} s"
            subscribed.add(session)
        push.subscribe(session, socket)
        return None

    if _SESSION.match(request.query.get("session", "")):
        await subscribe(request.query["session"])
    try:
        async for frame in socket:
            if frame.type != WSMsgType.TEXT:
                continue
            try:
                payload = validate(json.loads(frame.data))
            except (ValueError, BadRequest) as exc:
                message = str(exc) if isinstance(exc, BadRequest) else "frame must be JSON"
                await socket.send_str(_dumps({"error": message}))
                continue
            refusal = await subscribe(payload["session"])
            if refusal is not None:
                await socket.send_str(_dumps({"id": payload["id"], "error": refusal}))
                continue
            result = await _submit(pipeline, payload)
            await socket.send_str(_dumps({"id": payload["id"], **_answer(result)}))
    finally:
        push.unsubscribe(socket)
    return socket


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


# The chat page and its files come from aiohttp's static handling (FileResponse): ETag and Last-Modified,
# 304 on If-None-Match / If-Modified-Since, no read into memory at import. The page links its files by a
# bare URL, so they are revalidated on every load (a cheap 304) and a deploy shows at once.
STATIC_DIR: Final = Path(__file__).resolve().parent / "static"
STATIC_PREFIX: Final = "/static"
STATIC_HEADERS: Final = {
    "Content-Security-Policy": "default-src 'self'; connect-src 'self'",
    "X-Content-Type-Options": "nosniff",
}


async def chat_page(_request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "index.html")


async def _static_headers(request: web.Request, response: web.StreamResponse) -> None:
    """The chat page's CSP and cache policy on the page and its files (and only there)."""
    if request.path != "/" and not request.path.startswith(STATIC_PREFIX + "/"):
        return
    static_files.apply(response, STATIC_HEADERS, "no-cache")  # keep a copy, but ask before using it


def create_web_app(pipeline: Pipeline) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    app[PIPELINE_KEY] = pipeline
    app[PUSH_KEY] = WebPush(pipeline.db, lambda: pipeline.on_outbox())
    app[LIMITS_KEY] = GuestLimits(pipeline.settings, pipeline.db, CHANNEL)

    async def close_push(app: web.Application) -> None:
        await app[PUSH_KEY].close()

    app.on_cleanup.append(close_push)  # AppRunner.cleanup(), which Concierge.stop() awaits before dispose()
    pipeline.register_channel(CHANNEL, parse_web_payload, push=False)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/", chat_page)
    app.router.add_static(STATIC_PREFIX, STATIC_DIR, name="chat-static")
    app.on_response_prepare.append(_static_headers)
    app.router.add_post("/api/chat", chat_api)
    app.router.add_get("/ws", chat_socket)
    return app
