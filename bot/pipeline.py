"""The one pipeline every channel goes through.

receive → commit to the inbox (unique per channel update) → identify the guest → log inbound → analyse →
route → handler → persist replies and effects in the same transaction that marks the update done →
deliver. Processing and "done" commit together, so an update is processed at most once; the inbox row
is committed before the channel confirms the update, so it is answered at least once.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from bot.config import Settings
from crm import inbox
from crm.conversation import open_turn, touch
from crm.db import Database
from crm.guests import join_guest
from crm.messages import add_line, add_lines, link_ticket, offered_buttons, summarise_analysis
from crm.models import Guest, InboxUpdate, Message, Outbox
from crm.outbox import enqueue, enqueue_rows, outbox_written
from crm.rows import row_values
from crm.ticket_work import release_held
from crm.types import utcnow
from handlers.context import Turn
from handlers.flood import WINDOW as FLOOD_WINDOW
from handlers.i18n import Catalog, normalize_locale, reply_language
from handlers.router import handle
from handlers.types import Button, Inbound, Reply, parse_number
from nlp import Analysis, Analyzer
from nlp.text import strip_markup

log = logging.getLogger(__name__)

MAX_STORED_TEXT = 20_000  # what we keep of one message; longer pastes are cut here and the guest told
MAX_ANALYSED_TEXT = 2_000  # what the analyser reads; the rest is kept but not read
OFF_LOOP_CHARS = 500  # longer texts are analysed in a worker thread so jieba does not stall other chats
MEANINGFUL = 0.5  # below this an "other" message (a name, "ok") does not switch the reply language

Parser = Callable[[dict[str, Any]], Inbound | None]
Notify = Callable[[], None]


@dataclass(frozen=True)
class Pending:
    """What processing needs of an inbox row."""

    channel: str
    chat_key: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Result:
    replies: list[Reply]
    duplicate: bool = False
    guest_id: int | None = None


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """What a guest typed, made storable: control characters dropped (NUL cannot even be stored in
    PostgreSQL text; tabs and newlines stay) and lone surrogates (JSON's "\\ud800", valid in a Python str
    but not in UTF-8, so the message insert fails) replaced by U+FFFD."""
    return _SURROGATE.sub("\ufffd", _CONTROL.sub("", text))


def _has_words(text: str) -> bool:
    """Whether the text carries any language at all (pasted markup does not)."""
    return any(ch.isalpha() for ch in strip_markup(text))


async def _numbered_choice(session: AsyncSession, guest_id: int, inbound: Inbound) -> Inbound | None:
    """A bare number answering the choices the bot last offered on this channel, as that button press."""
    number = parse_number(inbound.text.strip())  # ASCII digits only: "²".isdigit(), but int("²") raises
    if number is None or number > 99:
        return None
    buttons = await offered_buttons(session, guest_id, inbound.channel)
    index = number - 1
    if not 0 <= index < len(buttons):
        return None
    return replace(inbound, button=buttons[index]["value"], text="")


class Pipeline:
    """Channel-neutral processing of inbound updates; channels register how to read their payloads."""

    def __init__(self, settings: Settings, db: Database, analyzer: Analyzer, catalog: Catalog) -> None:
        self.settings = settings
        self.db = db
        self.analyzer = analyzer
        self.catalog = catalog
        self._parsers: dict[str, Parser] = {}
        self._push_channels: set[str] = set()  # channels whose replies go through the outbox
        self._numbered: set[str] = set()  # channels where a guest may answer a choice with its number
        self._greet_first: set[str] = set()  # channels without a follow event: a first "hello" is welcomed
        self._windowed: set[str] = set()  # channels with a customer-service window: held rows wait for the guest
        self._locks: dict[str, asyncio.Lock] = {}
        self._lock_users: dict[str, int] = {}
        self.on_outbox: Notify = lambda: None
        self.on_processed: Callable[[str, float, int], None] = lambda channel, seconds, replies: None
        self.clock: Callable[[], datetime] = utcnow

    def register_channel(
        self, channel: str, parser: Parser, *, push: bool, numbered_choices: bool = False, greet_first: bool = False,
        windowed: bool = False,
    ) -> None:
        """``numbered_choices``: the channel shows buttons as numbered lines (or may), so a bare "2" picks
        the second choice the bot last offered there. ``greet_first``: the platform has no "started the
        chat" event (WhatsApp), so a first message that asks nothing in particular is answered with the
        welcome, as /start or a follow would be. ``windowed``: the platform lets us write only for a while
        after the guest did (WhatsApp, WeChat); what was held outside that window goes out when they write
        again."""
        self._parsers[channel] = parser
        if push:
            self._push_channels.add(channel)
        if numbered_choices:
            self._numbered.add(channel)
        if greet_first:
            self._greet_first.add(channel)
        if windowed:
            self._windowed.add(channel)

    async def receive(self, channel: str, update_id: str, chat_key: str, payload: dict[str, Any]) -> tuple[int, bool]:
        """Commit the raw update; only after this may the channel confirm it."""
        return await inbox.accept(self.db, channel, update_id, chat_key, payload)

    async def submit(self, channel: str, update_id: str, chat_key: str, payload: dict[str, Any]) -> Result:
        """Receive and process at once (web chat, terminal): the caller waits for the replies."""
        inbox_id, new = await self.receive(channel, update_id, chat_key, payload)
        return await self.process(inbox_id, Pending(channel, chat_key, payload) if new else None)

    async def process(
        self, inbox_id: int, known: Pending | None = None, *, chat: tuple[str, str] | None = None
    ) -> Result:
        """Process one committed update. ``known`` spares a read when the caller has the row's content;
        ``chat`` (channel, chat key) lets the chat's turn be taken first, so one chat's updates are
        handled in the order they arrived even when reads finish out of order."""
        if known is not None:
            chat = (known.channel, known.chat_key)
        if chat is None:
            found = await self._pending(inbox_id)
            if found is None:
                return Result(await self.replies_for(inbox_id), duplicate=True)
            known, chat = found, (found.channel, found.chat_key)
        async with self._chat_lock(f"{chat[0]}:{chat[1]}"):
            pending = known or await self._pending(inbox_id)
            if pending is None:
                return await self._answered(chat[0], inbox_id)
            started = time.perf_counter()
            try:
                result = await self._process(inbox_id, pending)
                self.on_processed(pending.channel, time.perf_counter() - started, len(result.replies))
                return result
            except Exception as exc:  # a bug must not take the guest's message with it
                log.exception("processing inbox update %s failed", inbox_id)
                # Pushed channels retry from the inbox (the sweep); a web page is waiting for an answer now.
                retry = pending.channel in self._push_channels
                error = f"{type(exc).__name__}: {exc}"
                gave_up = await inbox.record_failure(self.db, inbox_id, error, give_up=not retry)
                return await self._apologise(inbox_id) if gave_up else Result([])

    async def _pending(self, inbox_id: int) -> Pending | None:
        """The update's content, or None when it is no longer pending."""
        async with self.db.read(short=True) as session:
            row = await session.get(InboxUpdate, inbox_id)
        if row is None or row.status != "pending":
            return None
        return Pending(row.channel, row.chat_key, row.payload)

    async def _process(self, inbox_id: int, pending: Pending) -> Result:
        now = self.clock()
        parser = self._parsers.get(pending.channel)
        inbound = parser(pending.payload) if parser else None
        if inbound is None:  # nothing a guest said (a service message, an edit…): done, no reply
            await inbox.mark_status(self.db, inbox_id, "ignored")
            return Result([])
        inbound = replace(  # the channel may have stored it raw (Telegram's payload is Telegram's JSON)
            inbound, text=clean_text(inbound.text), display_name=clean_text(inbound.display_name),
            button=None if inbound.button is None else clean_text(inbound.button),
        )
        analysis = await self._analyse(inbound, now)
        async with self.db.write(short=True) as session:
            claimed = await inbox.claim(session, inbox_id) is not None  # the authoritative "still pending?" check
            if claimed:
                replies, guest_id = await self._turn(session, inbox_id, inbound, analysis, now)
                wrote_outbox = outbox_written(session)
        if not claimed:  # another worker processed it meanwhile
            return await self._answered(pending.channel, inbox_id)
        if wrote_outbox:
            self.on_outbox()
        return Result(replies, guest_id=guest_id)

    async def _analyse(self, inbound: Inbound, now: datetime) -> Analysis | None:
        text = inbound.text[:MAX_ANALYSED_TEXT]
        if inbound.command or inbound.button is not None or not text.strip():
            return None
        if len(text) > OFF_LOOP_CHARS:
            return await asyncio.to_thread(self.analyzer.analyze, text, now)
        return self.analyzer.analyze(text, now)

    async def _turn(
        self, session: AsyncSession, inbox_id: int, inbound: Inbound, analysis: Analysis | None, now: datetime
    ) -> tuple[list[Reply], int]:
        hint = normalize_locale(inbound.language_hint) or self.settings.default_language
        opened = await open_turn(
            session, inbound.channel, inbound.external_id, since=now - FLOOD_WINDOW,
            chat_id=inbound.chat_id, display_name=inbound.display_name, language=hint,
        )
        guest = opened.guest
        assert guest.id is not None
        if inbound.channel in self._windowed and inbound.chat_id and not inbound.silent:
            await release_held(session, inbound.channel, inbound.chat_id)  # the window is open again
        if inbound.channel in self._numbered and inbound.button is None and not inbound.command:
            chosen = await _numbered_choice(session, guest.id, inbound)
            if chosen is not None:
                inbound, analysis = chosen, None
        if (opened.first_contact and inbound.channel in self._greet_first and analysis is not None
                and analysis.category == "other" and not analysis.escalate and not analysis.entities):
            inbound, analysis = replace(inbound, command="start", text=""), None
        language = guest.language
        if opened.stated_language:
            language = opened.stated_language
        elif analysis is not None and _has_words(inbound.text):
            meaningful = analysis.category != "other" or analysis.confidence >= MEANINGFUL or len(inbound.text.split()) >= 3
            language = reply_language(guest.language, analysis.lang, inbound.text, meaningful=meaningful)
        if language != guest.language:  # assigning even the same value would make the ORM flush the guest
            guest.language = language
        locale = guest.language if guest.language in self.settings.languages else self.settings.default_language
        message_id = await add_line(session, **self._inbound_line(guest, inbox_id, inbound, analysis))
        turn = Turn(
            session=session,
            hotel=self.settings,
            catalog=self.catalog,
            inbound=inbound,
            guest=guest,
            state=opened.state,
            message_id=message_id,
            analysis=analysis,
            locale=locale,
            now=now,
            recent_inbound=opened.recent_inbound,
        )
        await handle(turn)
        await touch(session, guest.id)
        if turn.ticket_id is not None:
            await link_ticket(session, message_id, turn.ticket_id)
        await self._persist_replies(session, guest, inbox_id, inbound, turn.replies, turn.ticket_id)
        if turn.join_guest is not None:  # after the replies, so they move with the rest of the conversation
            await join_guest(session, guest.id, turn.join_guest)
            return turn.replies, turn.join_guest
        return turn.replies, guest.id

    def _inbound_line(
        self, guest: Guest, inbox_id: int, inbound: Inbound, analysis: Analysis | None
    ) -> dict[str, Any]:
        text = inbound.text if inbound.button is None else f"[{inbound.button}]"
        if inbound.command:
            text = f"/{inbound.command}"
        data = analysis.to_dict() if analysis is not None else {}
        return {
            "guest_id": guest.id, "channel": inbound.channel, "direction": "in", "author": "guest",
            "text": text[:MAX_STORED_TEXT], "analysis": data, "inbox_id": inbox_id, **summarise_analysis(data),
        }

    async def _persist_replies(
        self,
        session: AsyncSession,
        guest: Guest,
        inbox_id: int,
        inbound: Inbound,
        replies: list[Reply],
        ticket_id: int | None,
    ) -> None:
        """Replies go in as two statements (messages, outbox rows): no ORM objects on the hottest path."""
        if not replies:
            return
        # the web page takes its replies from the response; a guest who left the channel gets nothing
        push = inbound.channel in self._push_channels and not inbound.silent
        messages, queued = [], []
        for reply in replies:
            buttons = [button.as_dict() for button in reply.buttons]
            messages.append(row_values(
                Message, guest_id=guest.id, channel=inbound.channel, direction="out", author="bot", text=reply.text,
                language=guest.language, ticket_id=ticket_id, inbox_id=inbox_id,
                analysis={"buttons": buttons} if buttons else {},
            ))
            if push:
                queued.append(row_values(
                    Outbox, channel=inbound.channel, chat_id=inbound.chat_id, guest_id=guest.id, kind="reply",
                    text=reply.text, buttons=buttons, ticket_id=ticket_id,
                ))
        await add_lines(session, messages)
        await enqueue_rows(session, queued)

    async def _apologise(self, inbox_id: int) -> Result:
        """The update failed for good: tell the guest politely (their words are kept in the inbox)."""
        async with self.db.read() as session:
            row = await session.get(InboxUpdate, inbox_id)
        parser = self._parsers.get(row.channel) if row else None
        inbound = parser(row.payload) if parser and row else None
        if row is None or inbound is None:
            return Result([])
        locale = normalize_locale(inbound.language_hint) or self.settings.default_language
        reply = Reply(self.catalog.text(locale, "error.generic"))
        if row.channel in self._push_channels and inbound.chat_id:
            async with self.db.write() as session:
                await enqueue(session, Outbox(channel=row.channel, chat_id=inbound.chat_id, kind="reply", text=reply.text))
            self.on_outbox()
        return Result([reply])

    @asynccontextmanager
    async def _chat_lock(self, key: str) -> AsyncIterator[None]:
        """Serialise one chat's updates (order matters in a conversation); other chats run concurrently."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._lock_users[key] = self._lock_users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._lock_users[key] -= 1
            if self._lock_users[key] == 0:
                del self._lock_users[key], self._locks[key]

    async def _answered(self, channel: str, inbox_id: int) -> Result:
        """An update processed already: only a web client re-sending a message waits for the replies it was
        given (pushed channels got theirs through the outbox)."""
        pushed = channel in self._push_channels
        return Result([] if pushed else await self.replies_for(inbox_id), duplicate=True)

    async def replies_for(self, inbox_id: int) -> list[Reply]:
        """The replies already given to an update (a web client re-sending the same message id)."""
        async with self.db.read() as session:
            result = await session.execute(
                select(Message)
                .where(Message.inbox_id == inbox_id, Message.direction == "out")
                .order_by(Message.id)  # type: ignore[arg-type]
            )
            return [
                Reply(message.text, tuple(Button(b["label"], b["value"]) for b in message.analysis.get("buttons", [])))
                for message in result.scalars()
            ]
