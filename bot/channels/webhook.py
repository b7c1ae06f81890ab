"""What the webhook channels (WeChat, WhatsApp, LINE) share: what a channel can show, the intake that
commits a platform's callback to the durable inbox before answering it, and the HTTP client that sends
from the outbox under the channel's own pacing.

Each platform retries a callback it did not get a 200 for (WeChat after 5 s, three times; Meta and LINE
with back-off): the callback is answered only after the inbox commit, and the inbox is unique on the
platform's own message or event id, so a retry finds the row and is not processed again.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import aiohttp
from aiohttp import web

from bot.delivery import Deliverer, SendError, attempting
from bot.pipeline import Parser, Pending, Pipeline
from bot.ratelimit import RateLimiter
from crm.inbox import accept_many, pending_ids
from crm.messages import last_heard
from crm.models import Outbox
from crm.types import utcnow

log = logging.getLogger(__name__)

SWEEP_SECONDS = 30
STALE_SECONDS = 60
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=20, connect=5)


@dataclass(frozen=True)
class Capabilities:
    """What a channel can show a guest; replies are rendered from the same ``Reply`` by these."""

    max_text: int  # characters in one message; longer texts are split
    max_buttons: int  # choices as real buttons in one message (0: numbered lines instead)
    max_label: int  # characters of a button's title
    window: timedelta | None = None  # free-form messages only this long after the guest last wrote


def split_text(text: str, limit: int) -> list[str]:
    """Split at line breaks where possible so no piece exceeds the channel's limit."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        cut = cut if cut > limit // 2 else limit
        pieces.append(text[:cut])
        text = text[cut:].lstrip("\n")
    pieces.append(text)
    return pieces


def numbered(text: str, buttons: Sequence[dict[str, str]]) -> str:
    """Choices as lines the guest answers with the number (the pipeline maps the number back)."""
    if not buttons:
        return text
    lines = [f"{index}. {button['label']}" for index, button in enumerate(buttons, start=1)]
    return text + "\n\n" + "\n".join(lines)


def clip(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


async def within_window(pipeline: Pipeline, channel: str, chat_id: str, window: timedelta | None) -> bool:
    """Whether the guest wrote to us on this channel recently enough for a free-form message."""
    if window is None:
        return True
    async with pipeline.db.read(short=True) as session:
        heard = await last_heard(session, channel, chat_id)
    return heard is not None and utcnow() - heard < window


class WebhookChannel(Protocol):
    """What ``bot.app`` needs of a webhook channel."""

    def add_routes(self, app: web.Application) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


Update = tuple[str, str, dict[str, Any]]  # (platform's message/event id, chat key, payload to store)


class WebhookIntake:
    """Commit callbacks to the inbox, then process them; pick up what a dead worker left pending."""

    def __init__(self, pipeline: Pipeline, channel: str) -> None:
        self.pipeline = pipeline
        self.channel = channel
        self._tasks: set[asyncio.Task[Any]] = set()
        self._sweeper: asyncio.Task[None] | None = None

    async def accept(self, updates: list[Update]) -> None:
        """Returns once every update is committed: only then may the webhook answer 200."""
        accepted = await accept_many(self.pipeline.db, self.channel, updates)
        for (_update_id, chat_key, payload), (inbox_id, new) in zip(updates, accepted, strict=True):
            if new:  # tasks start in this order, so each chat's turns are taken in arrival order
                self._spawn(self.pipeline.process(inbox_id, Pending(self.channel, chat_key, payload)))

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def start(self) -> None:
        await self._recover()
        self._sweeper = asyncio.create_task(self._sweep(), name=f"{self.channel}-inbox-sweep")

    async def _recover(self, received_before: datetime | None = None) -> None:
        for inbox_id, channel, chat_key in await pending_ids(
            self.pipeline.db, self.channel, received_before=received_before
        ):
            self._spawn(self.pipeline.process(inbox_id, chat=(channel, chat_key)))

    async def _sweep(self) -> None:
        """A worker may die between the commit and processing: anything pending for a while is taken up
        (the claim is transactional, so a merely slow update is still processed once)."""
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                await self._recover(received_before=utcnow() - timedelta(seconds=STALE_SECONDS))
            except Exception:
                log.exception("%s inbox sweep failed", self.channel)

    async def stop(self) -> None:
        tasks = [task for task in (self._sweeper, *self._tasks) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)  # nothing may touch the store after dispose


class PlatformClient:
    """One HTTP session and one pacing limiter per channel (each platform has its own limits)."""

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=REQUEST_TIMEOUT)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def request(
        self,
        method: str,
        url: str,
        *,
        chat_id: str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        delivers: bool = True,
    ) -> tuple[int, Any]:
        """(HTTP status, decoded JSON or None). ``delivers``: this request may put a message in front of
        the guest, so it is paced and marked in flight first (``bot.delivery.attempting``)."""
        if delivers and chat_id is not None:
            async with self.limiter.slot(chat_id):
                await self.limiter.within_window()
                await attempting()
                return await self._call(method, url, body, headers, unknown_on_timeout=True)
        return await self._call(method, url, body, headers, unknown_on_timeout=False)

    async def _call(
        self, method: str, url: str, body: Any, headers: dict[str, str] | None, *, unknown_on_timeout: bool
    ) -> tuple[int, Any]:
        data: bytes | None = None
        if body is not None:  # UTF-8 as it is: WeChat shows \\u escapes in some APIs literally
            data = json.dumps(body, ensure_ascii=False).encode()
            headers = {**(headers or {}), "Content-Type": "application/json; charset=utf-8"}
        try:
            async with self.session.request(method, url, data=data, headers=headers) as response:
                try:
                    answer = await response.json(content_type=None)
                except ValueError:
                    answer = None
                return response.status, answer
        except TimeoutError as exc:
            raise SendError("timed out", outcome_unknown=unknown_on_timeout) from exc
        except aiohttp.ClientError as exc:
            raise SendError(f"network: {type(exc).__name__}") from exc


class PlatformChannel:
    """The skeleton each webhook channel fills in: registers its parser and sender, owns its intake and its
    HTTP client, and takes a signed JSON webhook into the inbox (``accept_signed_json``)."""

    name: str
    numbered_choices = True
    greet_first = False
    windowed = False  # a customer-service window: see Pipeline.register_channel

    def __init__(self, pipeline: Pipeline, deliverer: Deliverer, settings: Any, parser: Parser) -> None:
        self.pipeline = pipeline
        self.intake = WebhookIntake(pipeline, self.name)
        self.client = PlatformClient(RateLimiter(settings.rate_limit_per_second, settings.rate_limit_per_chat_seconds))
        pipeline.register_channel(
            self.name,
            parser,
            push=True,
            numbered_choices=self.numbered_choices,
            greet_first=self.greet_first,
            windowed=self.windowed,
        )
        deliverer.register(self.name, self.send)

    async def send(self, row: Outbox) -> str | None:
        raise NotImplementedError

    async def start(self) -> None:
        await self.intake.start()

    async def stop(self) -> None:
        await self.intake.stop()
        await self.client.close()

    async def accept_signed_json(
        self,
        request: web.Request,
        signed: Callable[[bytes], bool],
        updates_of: Callable[[dict[str, Any]], list[Update]],
    ) -> web.Response:
        """403 unless ``signed(raw body)``; 400 unless a JSON object; else 200 once its updates are committed."""
        raw = await request.read()
        if not signed(raw):
            return web.Response(status=403, text="forbidden")
        try:
            body = json.loads(raw)
        except ValueError:
            return web.Response(status=400, text="malformed")
        if not isinstance(body, dict):
            return web.Response(status=400, text="malformed")
        updates = updates_of(body)
        if updates:
            await self.intake.accept(updates)
        return web.Response(text="ok")
