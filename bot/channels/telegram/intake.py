"""Telegram on python-telegram-bot: our own intake (long polling or webhook) feeding the durable inbox,
PTB's Application for concurrent processing, and PTB's Bot for sending from the outbox.

PTB's Updater confirms updates before handlers run; we do not use it. Polling advances the offset only
after the batch is committed to the inbox; the webhook answers 200 only after the commit.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import secrets
import warnings
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import update
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler
from telegram.warnings import PTBUserWarning

from bot.channels.telegram.staff import STAFF_INBOX, TelegramStaff
from bot.channels.webhook import split_text as split_at
from bot.config import TelegramSettings
from bot.delivery import Deliverer, SendError, attempting
from bot.inbox_sweep import InboxSweeper
from bot.pipeline import Pending, Pipeline
from bot.ratelimit import RateLimiter
from crm.inbox import accept_many as inbox_accept_many
from crm.models import Outbox
from handlers.types import Inbound, split_command

log = logging.getLogger(__name__)

# Opt in to python-telegram-bot's coming behaviour (retry_after as a timedelta) instead of a deprecation
# warning on every 429; ``_seconds`` reads either form.
os.environ.setdefault("PTB_TIMEDELTA", "true")

# We call getUpdates through do_api_request on purpose: it hands back the raw JSON, which is what the inbox
# stores, and a malformed update cannot make the whole batch (and so the offset) unparseable.
warnings.filterwarnings("ignore", message="Please use 'Bot.getUpdates'", category=PTBUserWarning)

CHANNEL = "telegram"
MAX_TEXT = 4096
MAX_CALLBACK_BYTES = 64
ALLOWED_UPDATES = ["message", "callback_query"]
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
EXTRA_CONNECTIONS = 8  # answerCallbackQuery, staff cards and edits beside the outbox sends


def api_base(url: str) -> str:
    """Accept a Bot API base with or without the trailing ``/bot`` (self-hosted servers are given both ways)."""
    url = url.rstrip("/")
    return url if url.endswith("/bot") else f"{url}/bot"


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split at line breaks where possible so no piece exceeds Telegram's limit."""
    return split_at(text, limit)


def _chat_key(update: dict[str, Any]) -> str:
    message = update.get("message") or (update.get("callback_query") or {}).get("message") or {}
    chat = message.get("chat") if isinstance(message, dict) else None
    return str(chat.get("id", "")) if isinstance(chat, dict) else ""


def _display_name(user: dict[str, Any]) -> str:
    parts = [str(user.get("first_name") or ""), str(user.get("last_name") or "")]
    return " ".join(part for part in parts if part).strip()[:200]


def parse_update(update: dict[str, Any], staff_chat_id: int | None = None) -> Inbound | None:
    """A guest's Inbound from a raw Bot API update, or None for anything that is not a guest talking to us
    in a private chat (group messages, the staff chat, edits, malformed data)."""
    callback = update.get("callback_query")
    message = update.get("message")
    source = callback.get("message") if isinstance(callback, dict) else message
    user = (callback or message or {}).get("from") if isinstance(callback or message, dict) else None
    if not isinstance(source, dict) or not isinstance(user, dict):
        return None
    chat = source.get("chat")
    if not isinstance(chat, dict) or chat.get("type") != "private" or not isinstance(chat.get("id"), int):
        return None
    if staff_chat_id is not None and chat["id"] == staff_chat_id:
        return None
    if not isinstance(user.get("id"), int) or user.get("is_bot"):
        return None
    common = {
        "channel": CHANNEL,
        "external_id": str(user["id"]),
        "chat_id": str(chat["id"]),
        "display_name": _display_name(user),
        "language_hint": user.get("language_code") if isinstance(user.get("language_code"), str) else None,
    }
    if isinstance(callback, dict):
        data = callback.get("data")
        if not isinstance(data, str) or len(data.encode()) > MAX_CALLBACK_BYTES:
            return Inbound(**common, button="")  # a forged or stale button: the router answers politely
        return Inbound(**common, button=data)
    text = message.get("text") if isinstance(message, dict) else None
    if not isinstance(text, str):
        return Inbound(**common, text="")  # sticker, photo, voice…: ask for text
    command, rest = split_command(text)
    return Inbound(**common, command=command, text=rest if command else text)


@dataclass(frozen=True)
class InboxItem:
    """What we put on PTB's update queue: a committed inbox row, not a raw update."""

    inbox_id: int
    channel: str = CHANNEL  # STAFF_INBOX for staff-chat updates, which bypass the guest pipeline
    chat_key: str | None = None  # known at intake: the chat's turn is taken before anything is awaited
    payload: dict[str, Any] | None = None  # the update itself when fresh from intake (spares a read)


def _keyboard(buttons: list[dict[str, str]]) -> InlineKeyboardMarkup | None:
    rows = [
        [InlineKeyboardButton(button["label"][:64], callback_data=button["value"])]
        for button in buttons
        if len(button.get("value", "").encode()) <= MAX_CALLBACK_BYTES
    ]
    return InlineKeyboardMarkup(rows) if rows else None


class TelegramChannel:
    def __init__(
        self, settings: TelegramSettings, pipeline: Pipeline, deliverer: Deliverer, limiter: RateLimiter
    ) -> None:
        self.settings = settings
        self.pipeline = pipeline
        self.deliverer = deliverer
        self.limiter = limiter
        self.webhook_secret = settings.webhook_secret or secrets.token_urlsafe(32)
        self.app: Application[Any, Any, Any, Any, Any, Any] = (
            ApplicationBuilder()
            .token(settings.token)
            .base_url(api_base(settings.api_base_url))
            .base_file_url(api_base(settings.api_base_url).removesuffix("/bot") + "/file/bot")
            .updater(None)
            .connection_pool_size(settings.max_concurrent_sends + EXTRA_CONNECTIONS)
            .concurrent_updates(64)
            .build()
        )
        self.app.add_handler(TypeHandler(InboxItem, self._on_item))
        self._poller: asyncio.Task[None] | None = None
        self._sweeper = InboxSweeper(pipeline.db, (CHANNEL, STAFF_INBOX), self._queue, name="telegram-inbox-sweep")
        self._stopping = asyncio.Event()
        self._in_flight = asyncio.Semaphore(settings.max_concurrent_sends)
        staff = settings.staff_chat_id
        pipeline.register_channel(CHANNEL, lambda payload: parse_update(payload, staff), push=True)
        deliverer.register(CHANNEL, self.send)
        # staff chat, cards and commands; registers the staff senders
        self.staff = TelegramStaff(settings, pipeline, deliverer, limiter, self.app.bot, self._send)

    @property
    def uses_webhook(self) -> bool:
        return bool(self.settings.webhook_url)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(WEBHOOK_PATH, self._webhook)

    async def start(self, *, primary: bool = True) -> None:
        """``primary``: this process owns Telegram's intake (registers the webhook, or long-polls — only one
        process may poll). Extra workers behind the same webhook only process and send."""
        await self.app.initialize()
        await self.app.start()
        # What an earlier run accepted but did not process, queued before any new intake: recovering after
        # polling started would queue the new updates a second time (harmless, the claim decides, but each
        # would cost a read and a reply lookup).
        await self._sweeper.recover()
        if primary and self.uses_webhook:
            await self.app.bot.set_webhook(
                self.settings.webhook_url, secret_token=self.webhook_secret, allowed_updates=ALLOWED_UPDATES
            )
        elif primary:
            await self.app.bot.delete_webhook()
            self._poller = asyncio.create_task(self._poll(), name="telegram-polling")
        self._sweeper.start()  # another worker may die holding updates it accepted

    async def _queue(self, inbox_id: int, channel: str, chat_key: str) -> None:
        """A committed but unprocessed update (a crashed worker's, or our own) joins the processing queue."""
        await self.app.update_queue.put(InboxItem(inbox_id, channel, chat_key))

    async def stop(self) -> None:
        self._stopping.set()
        await self._sweeper.stop()
        if self._poller is not None:  # awaited: it must not touch the store after it is disposed
            self._poller.cancel()
            try:
                await self._poller
            except asyncio.CancelledError:
                pass
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()

    async def _poll(self) -> None:
        offset: int | None = None
        backoff = 1.0
        timeout = self.settings.poll_timeout
        while not self._stopping.is_set():
            kwargs: dict[str, Any] = {"timeout": timeout, "allowed_updates": ALLOWED_UPDATES}
            if offset is not None:
                kwargs["offset"] = offset
            try:
                raw = await self.app.bot.do_api_request("getUpdates", api_kwargs=kwargs, read_timeout=timeout + 10)
                backoff = 1.0
            except InvalidToken:
                log.error("Telegram refused the bot token; polling stopped (check TELEGRAM_BOT_TOKEN)")
                return
            except RetryAfter as exc:
                await asyncio.sleep(_seconds(exc.retry_after))
                continue
            except (TimedOut, NetworkError) as exc:
                log.warning("getUpdates failed (%s); retrying in %.0fs", type(exc).__name__, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 60)
                continue
            batch = []
            for update in raw if isinstance(raw, list) else []:
                if isinstance(update, dict) and isinstance(update.get("update_id"), int):
                    batch.append(update)
                else:
                    log.warning("skipping a malformed update without update_id")
            if batch:
                await self._ingest(batch)  # committed before the next getUpdates confirms it
                offset = max(offset or 0, *(update["update_id"] + 1 for update in batch))

    async def _ingest(self, updates: list[dict[str, Any]]) -> None:
        """Commit updates to the inbox (one transaction per inbox channel), then queue them for processing."""
        by_channel: dict[str, list[dict[str, Any]]] = {}
        for update in updates:
            by_channel.setdefault(STAFF_INBOX if self.staff.wants(update) else CHANNEL, []).append(update)
        for channel, group in by_channel.items():
            accepted = await inbox_accept_many(
                self.pipeline.db, channel, [(str(u["update_id"]), _chat_key(u), u) for u in group]
            )
            for update, (inbox_id, new) in zip(group, accepted, strict=True):
                callback = update.get("callback_query")
                if channel == CHANNEL and isinstance(callback, dict) and isinstance(callback.get("id"), str):
                    asyncio.create_task(self._answer_callback(callback["id"]))  # staff buttons get a result instead
                if new:
                    await self.app.update_queue.put(InboxItem(inbox_id, channel, _chat_key(update), update))

    async def _answer_callback(self, callback_id: str) -> None:
        try:
            await self.app.bot.answer_callback_query(callback_id)
        except Exception as exc:  # cosmetic (stops the button's spinner); never worth failing over
            log.debug("answerCallbackQuery failed: %s", exc)

    async def _webhook(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.webhook_secret.encode()):
            return web.Response(status=403, text="forbidden")
        try:
            update = await request.json()
        except ValueError:
            return web.Response(status=400, text="malformed update")
        if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
            return web.Response(status=400, text="malformed update")
        await self._ingest([update])
        return web.Response(text="ok")

    async def _on_item(self, item: InboxItem, _context: ContextTypes.DEFAULT_TYPE) -> None:
        if item.channel == STAFF_INBOX:
            await self.staff.process(item.inbox_id)
        elif item.chat_key is not None and item.payload is not None:  # fresh from intake: no read needed
            await self.pipeline.process(item.inbox_id, Pending(item.channel, item.chat_key, item.payload))
        else:  # recovered: the chat's turn is taken first, the payload read under it
            chat = (item.channel, item.chat_key) if item.chat_key is not None else None
            await self.pipeline.process(item.inbox_id, chat=chat)

    async def send(self, row: Outbox) -> str | None:
        if not row.chat_id:
            raise SendError("no chat id", retry=False)
        return await self._send(row.chat_id, row.text, row.buttons, row=row)

    async def _send(
        self, chat_id: str, text: str, buttons: list[dict[str, str]], *, row: Outbox | None = None
    ) -> str | None:
        """Send a text in as many pieces as Telegram's limit needs. For an outbox row, each piece but the
        last is recorded as sent (the row's ``external_id``, ``parts:<n>:<message id>``) before the next
        leaves, so a retry after a later piece failed or timed out starts at that piece instead of sending
        the guest the whole text again."""
        pieces = split_text(text)
        done, message_id = _parts_sent(row.external_id if row is not None else None)
        for index, piece in enumerate(pieces[done:], start=done):
            markup = _keyboard(buttons) if index == len(pieces) - 1 else None
            message_id = await self._send_piece(chat_id, piece, markup)
            if row is not None and row.id is not None and index < len(pieces) - 1:
                row.external_id = f"{PARTS}{index + 1}:{message_id}"
                async with self.pipeline.db.write(short=True) as session:
                    progress = update(Outbox).where(Outbox.id == row.id)  # type: ignore[arg-type]
                    await session.execute(progress.values(external_id=row.external_id))
        return message_id

    async def _send_piece(self, chat_id: str, text: str, markup: InlineKeyboardMarkup | None) -> str:
        for _ in range(3):
            async with self.limiter.slot(chat_id), self._in_flight:
                try:
                    await self.limiter.within_window()  # slots held back (chat turns, commits) must not burst
                    await attempting()  # from here a crash means "outcome unknown", never "send again"
                    sent = await self.app.bot.send_message(chat_id=int(chat_id), text=text, reply_markup=markup)
                    return str(sent.message_id)
                except RetryAfter as exc:
                    self.limiter.pause(_seconds(exc.retry_after))
                except TimedOut as exc:
                    raise SendError(f"timed out: {exc}", outcome_unknown=True) from exc
                except Forbidden as exc:
                    raise SendError(f"forbidden: {exc}", retry=False) from exc
                except BadRequest as exc:
                    raise SendError(f"bad request: {exc}", retry=False) from exc
                except NetworkError as exc:
                    raise SendError(f"network: {exc}") from exc
        raise SendError("rate limited three times in a row")


PARTS = "parts:"


def _parts_sent(external_id: str | None) -> tuple[int, str | None]:
    """(pieces already delivered, the last one's message id) from a row's ``parts:<n>:<id>`` progress."""
    if not external_id or not external_id.startswith(PARTS):
        return 0, None
    count, _, message_id = external_id.removeprefix(PARTS).partition(":")
    return (int(count), message_id or None) if count.isascii() and count.isdigit() else (0, None)


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
