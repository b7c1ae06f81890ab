"""The HTTP side: health check, the web chat (page, widget, JSON API, history, WebSocket) on one aiohttp server.

Message ids make the web chat safe to retry: the page gives every message an id (``"id"``, at most 64
characters, unique within the session) and re-sends it, same id, until it is answered — after a dropped
connection, a reload or a server restart. The inbox row is unique per ``<session>:<id>``, so a repeat is
never processed twice: it gets the replies the first one was given. Rows a crash left unprocessed are
taken up by the inbox sweep at start-up, so even a guest who never comes back is answered in the log.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, Final

from aiohttp import WSCloseCode, WSMsgType, web

from bot import static_files
from bot.channels.web.history import MIN_SESSION, conversation
from bot.channels.web.limits import GuestLimits
from bot.channels.web.push import WebPush
from bot.client_limits import TooMany
from bot.inbox_sweep import InboxSweeper
from bot.pipeline import Pipeline, Result, clean_text
from handlers.i18n import localize, normalize_locale
from handlers.types import Inbound, split_command

log = logging.getLogger(__name__)

CHANNEL = "web"
MAX_BODY = 64 * 1024
MAX_TEXT = 20_000
MAX_BUTTON = 64
_SESSION = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
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
        if not isinstance(button, str) or len(button.encode("utf-8", "surrogatepass")) > MAX_BUTTON:
            raise BadRequest("'button' must be a string of at most 64 bytes")
        payload["button"] = clean_text(button)
    elif isinstance(text, str):
        command, rest = split_command(text)
        if command:
            payload["command"], text = command, rest
        payload["text"] = clean_text(text[:MAX_TEXT])  # stored as given would fail on a lone surrogate
        payload["truncated"] = len(text) > MAX_TEXT
    else:
        raise BadRequest("send 'text' (a string) or 'button'")
    lang = body.get("lang")
    if isinstance(lang, str) and len(lang) <= 16:
        payload["lang"] = lang
    message_id = body.get("id")
    if message_id is not None and not (isinstance(message_id, str) and _ID.match(message_id)):
        raise BadRequest("'id' must be 1-64 letters, digits, '.', ':', '-' or '_'")
    payload["id"] = message_id or uuid.uuid4().hex  # without an id a retry is a new message
    return payload


async def _submit(pipeline: Pipeline, payload: dict[str, Any]) -> Result:
    return await pipeline.submit(CHANNEL, f"{payload['session']}:{payload['id']}", payload["session"], payload)


def _answer(payload: dict[str, Any], result: Result) -> dict[str, Any]:
    return {"id": payload["id"], "replies": [reply.as_dict() for reply in result.replies]}


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
    try:
        await limits.pace(request)
    except TooMany as refused:
        return limits.too_many(refused, "messages")
    result = await _submit(request.app[PIPELINE_KEY], payload)
    return web.json_response(_answer(payload, result), dumps=_dumps)


async def chat_history(request: web.Request) -> web.Response:
    """``{"messages": [...]}``, oldest first (see bot.channels.web.history)."""
    session = request.query.get("session", "")
    if len(session) < MIN_SESSION or not _SESSION.match(session):
        return web.json_response({"error": f"'session' must be {MIN_SESSION}-100 letters, digits, '-' or '_'"},
                                 status=400)
    messages = await conversation(request.app[PIPELINE_KEY].db, session)
    return web.json_response({"messages": messages}, dumps=_dumps, headers={"Cache-Control": "no-store"})


PAGE_TEXTS: Final = ("busy",)  # the page's own lines (catalog keys ``page.<name>``), beside the bot's replies


async def chat_hotel(request: web.Request) -> web.Response:
    """The hotel's name for the page's header and the page's own lines, in the page's language."""
    pipeline = request.app[PIPELINE_KEY]
    settings = pipeline.settings
    locale = normalize_locale(request.query.get("lang")) or settings.default_language
    texts = {name: pipeline.catalog.text(locale, f"page.{name}") for name in PAGE_TEXTS}
    return web.json_response({"name": localize(settings.hotel.names, locale), "texts": texts}, dumps=_dumps)


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

    try:
        if _SESSION.match(request.query.get("session", "")):
            refusal = await subscribe(request.query["session"])
            if refusal is not None:  # the page waits until its session is let in, then connects again
                await socket.close(code=WSCloseCode.TRY_AGAIN_LATER, message=refusal.encode()[:120])
                return socket
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
            try:
                await limits.pace(request)
            except TooMany as refused:
                await socket.send_str(_dumps({"id": payload["id"], "error": "too many messages from this address; "
                                              f"try again in {refused.header} s"}))
                continue
            result = await _submit(pipeline, payload)
            await socket.send_str(_dumps(_answer(payload, result)))
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


def static_headers(embed_origins: list[str]) -> dict[str, str]:
    """The page's CSP: its own files only, and framed only by the hotel's configured sites (the widget)."""
    ancestors = " ".join(embed_origins) if embed_origins else "'none'"
    return {"Content-Security-Policy": f"default-src 'self'; connect-src 'self'; frame-ancestors {ancestors}"}


async def chat_page(_request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "index.html")


async def _nosniff(_request: web.Request, response: web.StreamResponse) -> None:
    """Every response of the server (API, errors, dashboard, metrics): a browser never guesses a type."""
    response.headers["X-Content-Type-Options"] = "nosniff"


def _static_headers(headers: dict[str, str]) -> Callable[[web.Request, web.StreamResponse], Awaitable[None]]:
    async def apply(request: web.Request, response: web.StreamResponse) -> None:
        """The chat page's CSP and cache policy on the page and its files (and only there)."""
        if request.path != "/" and not request.path.startswith(STATIC_PREFIX + "/"):
            return
        static_files.apply(response, headers, "no-cache")  # keep a copy, but ask before using it

    return apply


def create_web_app(pipeline: Pipeline) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    app[PIPELINE_KEY] = pipeline
    app[PUSH_KEY] = WebPush(pipeline.db, lambda: pipeline.on_outbox())
    app[LIMITS_KEY] = GuestLimits(pipeline.settings, pipeline.db, CHANNEL)

    async def disconnect(app: web.Application) -> None:
        await app[PUSH_KEY].disconnect()

    async def close_push(app: web.Application) -> None:
        await app[PUSH_KEY].close()

    app.on_shutdown.append(disconnect)
    app.on_cleanup.append(close_push)  # AppRunner.cleanup(), which Concierge.stop() awaits before dispose()
    app.cleanup_ctx.append(_sweep_inbox)
    pipeline.register_channel(CHANNEL, parse_web_payload, push=False)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/", chat_page)
    app.router.add_static(STATIC_PREFIX, STATIC_DIR, name="chat-static")
    app.on_response_prepare.append(_nosniff)
    app.on_response_prepare.append(_static_headers(static_headers(pipeline.settings.http.embed_origins)))
    app.router.add_post("/api/chat", chat_api)
    app.router.add_get("/api/chat/history", chat_history)
    app.router.add_get("/api/chat/hotel", chat_hotel)
    app.router.add_get("/ws", chat_socket)
    return app


async def _sweep_inbox(app: web.Application) -> AsyncIterator[None]:
    """Web messages a crash left unprocessed: answered at start-up (the page's re-send then gets the
    replies), and rows a dead worker left, every sweep. Stopped before the store is disposed."""
    pipeline = app[PIPELINE_KEY]

    async def take(inbox_id: int, channel: str, chat_key: str) -> None:
        task = asyncio.create_task(pipeline.process(inbox_id, chat=(channel, chat_key)))  # chats concurrently
        recovering.add(task)  # a chat's rows still in order: each takes the chat's turn as it starts
        task.add_done_callback(recovering.discard)

    recovering: set[asyncio.Task[Result]] = set()
    sweeper = InboxSweeper(pipeline.db, (CHANNEL,), take, name="web-inbox-sweep")
    await sweeper.recover()
    sweeper.start()
    yield
    await sweeper.stop()
    await asyncio.gather(*recovering, return_exceptions=True)
