"""Staff in Telegram: ticket cards with Claim / Resolve / Reply, commands, and reply-to-card relay.

Staff updates (anything in a staff chat, and any button whose data starts with ``staff:``) never reach
the guest pipeline: the channel stores them in the durable inbox under their own channel name and hands
them here. Every action checks that the Telegram user is an active staff member; strangers are refused.

What we post in staff chats goes through the outbox like everything else (channel ``staff``); the sender
here turns a ticket alert into a card (status line, SLA, buttons) and records ``<chat>:<message>`` as the
row's external id, which is how a reply to the card finds its ticket. Status changes queue a
``staff_card`` row; its sender re-renders the card from the ticket and edits every posted copy.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.config import TelegramSettings
from bot.channels.telegram.digest import DIGEST_KIND, AlertBudget, digest_text
from bot.delivery import HELD, Deliverer, Fold, SendError
from bot.pipeline import Pipeline
from bot.ratelimit import RateLimiter
from crm import inbox
from crm.models import Guest, Outbox, StaffUser, Ticket
from crm.staff import find_by_telegram, role_at_least
from crm.ticket_work import (
    CARD_CHANNEL,
    OPEN_STATUSES,
    WorkError,
    can_see,
    claim,
    readers_language,
    reply,
    staff_message_key,
    ticket_of_staff_message,
)
from crm.types import utcnow
from handlers.i18n import localize
from handlers.ticket_actions import hand_back, resolve_ticket
from handlers.types import parse_number, split_command

log = logging.getLogger(__name__)

STAFF_INBOX = "telegram_staff"  # inbox channel of staff updates (kept apart from guests' "telegram")
STAFF = "staff"
PREFIX = "staff:"
_CALLBACK = re.compile(r"^staff:(claim|resolve|reply|handback):(\d{1,12})$")
MAX_LISTED = 30
# The language of what is being written now: the staff member's who acted (their answers, the cards they
# ask for), else the hotel's. A context variable, so each concurrent update or send has its own.
_LOCALE: ContextVar[str | None] = ContextVar("staff_locale", default=None)


@dataclass
class Outcome:
    """What handling one staff update produced: an answer for the pressed button, if any."""

    callback_id: str | None = None
    callback_text: str | None = None
    alert: bool = False


def _seconds(value: Any) -> float:
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value)


SendText = Callable[[str, str, list[dict[str, str]]], Awaitable[str | None]]
"""The channel's paced, split-aware send: (chat, text, buttons) → the first message's id."""


class TelegramStaff:
    """The staff side of the Telegram channel: it shares the channel's bot, limiter and store, and posts
    through the channel's own send so staff messages are paced and split like guests' replies."""

    def __init__(
        self, telegram: TelegramSettings, pipeline: Pipeline, deliverer: Deliverer, limiter: RateLimiter,
        bot: Bot, send_text: SendText,
    ) -> None:
        self.settings = pipeline.settings
        self.db = pipeline.db
        self.catalog = pipeline.catalog
        self.deliverer = deliverer
        self.limiter = limiter
        self.bot = bot
        self.send_text = send_text
        self.default_chat = telegram.staff_chat_id
        self.department_chats: dict[str, int] = dict(telegram.department_chats)
        self.chats = {chat for chat in (self.default_chat, *self.department_chats.values()) if chat is not None}
        self.budget = AlertBudget(self.settings.limits)
        deliverer.register(STAFF, self.send)
        deliverer.register(CARD_CHANNEL, self.edit_cards)

    # --- which updates are ours ------------------------------------------------------------------------
    def wants(self, update: dict[str, Any]) -> bool:
        callback = update.get("callback_query")
        if isinstance(callback, dict):
            data = callback.get("data")
            return isinstance(data, str) and data.startswith(PREFIX)
        message = update.get("message")
        chat = message.get("chat") if isinstance(message, dict) else None
        return isinstance(chat, dict) and chat.get("id") in self.chats

    @property
    def locale(self) -> str:
        return _LOCALE.get() or self.settings.default_language

    def speaking_to(self, user: StaffUser | None) -> AbstractContextManager[None]:
        """Word everything inside in this staff member's language (when they chose one we speak)."""
        return self.reading(user.language if user is not None else None)

    @contextmanager
    def reading(self, language: str | None) -> Iterator[None]:
        """Word everything inside in ``language`` (the hotel's when None or not one we speak)."""
        token = _LOCALE.set(language if language in self.settings.languages else None)
        try:
            yield
        finally:
            _LOCALE.reset(token)

    def t(self, key: str, **values: object) -> str:
        return self.catalog.text(self.locale, key, **values)

    # --- processing ------------------------------------------------------------------------------------
    async def process(self, inbox_id: int) -> None:
        """Handle one committed staff update; effects and "done" commit together (at most once)."""
        try:
            async with self.db.write() as session:
                payload = await inbox.claim(session, inbox_id)
                if payload is None:
                    return
                outcome = await self._handle(session, payload)
        except Exception as exc:
            log.exception("staff update %s failed", inbox_id)
            await inbox.record_failure(self.db, inbox_id, f"{type(exc).__name__}: {exc}")
            return
        self.deliverer.wake()
        if outcome.callback_id:
            await self._answer(outcome)

    async def _answer(self, outcome: Outcome) -> None:
        try:
            await self.bot.answer_callback_query(
                outcome.callback_id or "", text=(outcome.callback_text or "")[:200] or None, show_alert=outcome.alert
            )
        except Exception as exc:  # the button's spinner stops by itself; never worth failing over
            log.debug("answerCallbackQuery failed: %s", exc)

    async def _handle(self, session: AsyncSession, update: dict[str, Any]) -> Outcome:
        callback = update.get("callback_query")
        if isinstance(callback, dict):
            return await self._on_button(session, callback)
        message = update.get("message")
        if isinstance(message, dict):
            await self._on_message(session, message)
        return Outcome()

    async def _staff(self, session: AsyncSession, sender: Any) -> StaffUser | None:
        if not isinstance(sender, dict) or not isinstance(sender.get("id"), int) or sender.get("is_bot"):
            return None
        return await find_by_telegram(session, sender["id"])

    async def _on_button(self, session: AsyncSession, callback: dict[str, Any]) -> Outcome:
        outcome = Outcome(callback_id=callback.get("id") if isinstance(callback.get("id"), str) else None)
        match = _CALLBACK.match(str(callback.get("data") or ""))
        user = await self._staff(session, callback.get("from"))
        if user is None:
            outcome.callback_text, outcome.alert = self.t("card.refused"), True
            return outcome
        with self.speaking_to(user):
            return await self._act(session, user, match, callback, outcome)

    async def _act(
        self, session: AsyncSession, user: StaffUser, match: re.Match[str] | None, callback: dict[str, Any],
        outcome: Outcome,
    ) -> Outcome:
        if match is None:
            outcome.callback_text = self.t("card.error.stale")
            return outcome
        action, ticket_id = match.group(1), int(match.group(2))
        try:
            if action == "claim":
                await claim(session, user, ticket_id)
                outcome.callback_text = self.t("card.done.claimed", ticket=ticket_id)
            elif action == "resolve":
                await resolve_ticket(session, self.catalog, user, ticket_id)
                outcome.callback_text = self.t("card.done.resolved", ticket=ticket_id)
            elif action == "handback":
                await hand_back(session, self.catalog, user, ticket_id)
                outcome.callback_text = self.t("card.done.handed_back", ticket=ticket_id)
            else:
                ticket = await session.get(Ticket, ticket_id)
                if ticket is None or not can_see(user, ticket):
                    raise WorkError("forbidden" if ticket else "not_found", ticket=ticket_id)
                chat = _chat_id(callback.get("message"))
                await self._post(session, self.t("card.reply_prompt", ticket=ticket_id), chat, ticket_id, kind="prompt")
                outcome.callback_text = self.t("card.done.prompted", ticket=ticket_id)
        except WorkError as error:
            outcome.callback_text, outcome.alert = self._error(error), True
        return outcome

    def _error(self, error: WorkError) -> str:
        return self.t(f"card.error.{error.code}", **error.details)

    async def _on_message(self, session: AsyncSession, message: dict[str, Any]) -> None:
        chat = _chat_id(message)
        text = message.get("text")
        if chat is None or not isinstance(text, str):
            return
        replied = message.get("reply_to_message")
        ticket_id = None
        if isinstance(replied, dict) and isinstance(replied.get("message_id"), int):
            ticket_id = await ticket_of_staff_message(session, chat, replied["message_id"])
        command, rest = split_command(text)
        if ticket_id is None and command not in ("tickets", "ticket", "resolve"):
            return  # staff talking among themselves
        user = await self._staff(session, message.get("from"))
        if user is None:
            await self._post(session, self.t("card.refused"), chat)
            return
        with self.speaking_to(user):
            await self._command(session, user, chat, ticket_id, command, rest, text)

    async def _command(
        self, session: AsyncSession, user: StaffUser, chat: int, ticket_id: int | None, command: str | None,
        rest: str, text: str,
    ) -> None:
        try:
            if ticket_id is not None and command is None:
                await reply(session, user, ticket_id, text)
                await self._post(session, self.t("card.relayed", ticket=ticket_id), chat)
            elif command == "tickets":
                await self._post(session, await self._list(session, user, rest.strip()), chat)
            elif command == "ticket":
                await self._show(session, user, rest, chat)
            elif command == "resolve":
                await self._resolve_command(session, user, rest, chat)
        except WorkError as error:
            await self._post(session, self._error(error), chat)

    async def _show(self, session: AsyncSession, user: StaffUser, rest: str, chat: int) -> None:
        number = _ticket_number(rest)
        if number is None:
            await self._post(session, self.t("card.usage.ticket"), chat)
            return
        ticket = await session.get(Ticket, number)
        if ticket is None or not can_see(user, ticket):
            raise WorkError("forbidden" if ticket else "not_found", ticket=number)
        guest = await session.get(Guest, ticket.guest_id)
        base = self._alert_text(ticket, guest)
        text = base + "\n" + await self._footer(session, ticket)
        await self._post(session, text, chat, ticket.id, kind="ticket", buttons=self._buttons(ticket))

    async def _resolve_command(self, session: AsyncSession, user: StaffUser, rest: str, chat: int) -> None:
        number_text, _, note = rest.strip().partition(" ")
        number = _ticket_number(number_text)
        if number is None:
            await self._post(session, self.t("card.usage.resolve"), chat)
            return
        await resolve_ticket(session, self.catalog, user, number, note.strip())
        await self._post(session, self.t("card.done.resolved", ticket=number), chat)

    async def _list(self, session: AsyncSession, user: StaffUser, department: str) -> str:
        query = select(Ticket).where(Ticket.status.in_(OPEN_STATUSES))  # type: ignore[attr-defined]
        if department:
            query = query.where(Ticket.department == department)
        if not role_at_least(user.role, "manager"):
            query = query.where((Ticket.department == user.department) | (Ticket.assignee_id == user.id))
        result = await session.execute(query.order_by(Ticket.department, Ticket.id).limit(MAX_LISTED + 1))  # type: ignore[arg-type]
        tickets = list(result.scalars())
        if not tickets:
            return self.t("card.list.empty")
        lines = [self.t("card.list.title")]
        current = None
        for ticket in tickets[:MAX_LISTED]:
            if ticket.department != current:
                current = ticket.department
                lines.append(f"— {self._department(current)}")
            lines.append(self.t(
                "card.list.line",
                ticket=ticket.id,
                category=self.t(f"category.{ticket.category}"),
                priority=self.t(f"priority.{ticket.priority}"),
                status=self.t(f"card.state.{ticket.status}"),
                due=self._time(ticket.resolve_due),
                summary=ticket.summary[:40],
            ))
        if len(tickets) > MAX_LISTED:
            lines.append(self.t("card.list.more"))
        return "\n".join(lines)

    async def _post(
        self,
        session: AsyncSession,
        text: str,
        chat: int | None,
        ticket_id: int | None = None,
        *,
        kind: str = "staff_answer",
        buttons: list[dict[str, str]] | None = None,
    ) -> None:
        session.add(Outbox(channel=STAFF, chat_id=str(chat) if chat is not None else None, kind=kind, text=text,
                           ticket_id=ticket_id, buttons=buttons or []))
        await session.flush()

    # --- rendering -------------------------------------------------------------------------------------
    def _department(self, code: str) -> str:
        department = self.settings.departments.get(code)
        if department is None:
            return code
        return localize(department, self.locale)

    def _time(self, moment: datetime | None) -> str:
        if moment is None:
            return "—"
        zone = self.settings.hotel.zone
        local = moment.astimezone(zone)
        today = utcnow().astimezone(zone).date()
        return local.strftime("%H:%M") if local.date() == today else local.strftime("%m-%d %H:%M")

    def _alert_text(self, ticket: Ticket, guest: Guest | None) -> str:
        return self.t(
            "staff.alert",
            ticket=ticket.id,
            category=self.t(f"category.{ticket.category}"),
            priority=self.t(f"priority.{ticket.priority}"),
            guest=(guest.name if guest and guest.name else self.t("staff.unknown_guest")),
            room=ticket.room_number or self.t("staff.unknown_room"),
            channel=ticket.channel,
            text=ticket.summary[:1500],
        )

    async def _footer(self, session: AsyncSession, ticket: Ticket) -> str:
        sla = self.t("card.sla", respond=self._time(ticket.respond_due), resolve=self._time(ticket.resolve_due))
        assignee = await session.get(StaffUser, ticket.assignee_id) if ticket.assignee_id else None
        status = self.t(f"card.status.{ticket.status}", name=assignee.name if assignee else "—")
        lines = [sla, status]
        if ticket.root_cause:
            lines.append(self.t("card.root_cause", note=ticket.root_cause[:300]))
        return "\n".join(lines)

    def _buttons(self, ticket: Ticket) -> list[dict[str, str]]:
        if ticket.status not in OPEN_STATUSES:
            return []
        # Hand back: the conversation returns to the bot without resolving (only a claimed ticket's can be
        # held by staff; pressing it when nobody holds the conversation says so).
        actions = ["resolve", "reply", "handback"] if ticket.status == "claimed" else ["claim", "resolve", "reply"]
        return [{"label": self.t(f"card.button.{action}"), "value": f"staff:{action}:{ticket.id}"} for action in actions]

    def _chat_for(self, ticket: Ticket | None) -> int | None:
        if ticket is not None and ticket.department in self.department_chats:
            return self.department_chats[ticket.department]
        return self.default_chat

    # --- senders (registered with the deliverer) -------------------------------------------------------
    async def send(self, row: Outbox) -> str | None | Fold:
        """Channel ``staff``: a ticket alert becomes a card (or, beyond the chat's rate, a line in its
        digest); a digest is worded from what it folded; anything else is posted as written."""
        ticket: Ticket | None = None
        text, buttons = row.text, list(row.buttons)
        if row.ticket_id is not None and row.kind == "staff":
            async with self.db.read() as session:
                ticket = await session.get(Ticket, row.ticket_id)
                if ticket is not None:
                    with self.reading(await readers_language(session, ticket)):
                        text = row.text + "\n" + await self._footer(session, ticket)
                        buttons = self._buttons(ticket)
        elif row.kind == DIGEST_KIND:
            async with self.db.read() as session:
                text = await digest_text(session, self.catalog, self.locale, row, self.budget.minutes)
        chat = int(row.chat_id) if row.chat_id else self._chat_for(ticket)
        if chat is None:
            return HELD
        if self.budget.folds(row):
            digest = await self.budget.take(self.db, str(chat))
            if digest is not None:
                return Fold(digest)
        message_id = await self.send_text(str(chat), text, buttons)
        return staff_message_key(chat, message_id) if message_id else None

    async def edit_cards(self, row: Outbox) -> str | None:
        """Channel ``staff_card``: bring every posted card of the ticket up to date."""
        async with self.db.read() as session:
            ticket = await session.get(Ticket, row.ticket_id) if row.ticket_id else None
            if ticket is None:
                return "gone"
            language = await readers_language(session, ticket)
            with self.reading(language):
                footer = await self._footer(session, ticket)
                markup = _markup(self._buttons(ticket))
            result = await session.execute(
                select(Outbox).where(
                    Outbox.channel == STAFF, Outbox.ticket_id == ticket.id, Outbox.kind == "staff",
                    Outbox.status == "sent", Outbox.external_id.is_not(None),  # type: ignore[union-attr]
                )
            )
            cards = list(result.scalars())
        for card in cards:
            chat, _, message = (card.external_id or "").rpartition(":")
            chat = chat or str(self.default_chat or "")
            message_id = parse_number(message)
            if not chat or message_id is None:
                continue
            await self._edit(chat, message_id, (card.text + "\n" + footer)[:4096], markup)
        return f"edited:{len(cards)}"

    async def _edit(self, chat: str, message_id: int, text: str, markup: InlineKeyboardMarkup | None) -> None:
        for _ in range(3):
            async with self.limiter.slot(chat):
                try:
                    await self.bot.edit_message_text(
                        text=text, chat_id=int(chat), message_id=message_id, reply_markup=markup
                    )
                    return
                except RetryAfter as exc:
                    self.limiter.pause(_seconds(exc.retry_after))
                except BadRequest as exc:
                    if "not modified" in str(exc).lower():
                        return
                    raise SendError(f"bad request: {exc}", retry=False) from exc
                except Forbidden as exc:
                    raise SendError(f"forbidden: {exc}", retry=False) from exc
                except (TimedOut, NetworkError) as exc:  # an edit is idempotent: simply retry later
                    raise SendError(f"network: {exc}") from exc
        raise SendError("rate limited three times in a row")


def _markup(buttons: list[dict[str, str]]) -> InlineKeyboardMarkup:
    """One button per row (as when the card was sent); an empty keyboard removes them once resolved."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(b["label"], callback_data=b["value"])] for b in buttons])


def _chat_id(message: Any) -> int | None:
    chat = message.get("chat") if isinstance(message, dict) else None
    value = chat.get("id") if isinstance(chat, dict) else None
    return value if isinstance(value, int) else None


def _ticket_number(text: str) -> int | None:
    return parse_number(text.strip().lstrip("#"))
