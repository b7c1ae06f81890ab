"""The turn a handler works on: the guest, the analysed message, the store session and the hotel's rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from crm.models import ConversationState, Guest
from handlers.i18n import BilingualText, Catalog
from handlers.types import Button, Inbound, Reply
from nlp import Analysis


class TicketRule(Protocol):
    department: str
    priority: str
    respond_minutes: int
    resolve_minutes: int


class RoomTypeInfo(Protocol):
    code: str
    names: BilingualText
    capacity: int
    rate: int


class HotelInfo(Protocol):
    names: BilingualText
    check_in_time: time
    currency: str

    @property
    def zone(self) -> ZoneInfo: ...


class CancellationRule(Protocol):
    free_until_hours_before_check_in: int
    penalty_nights: int


class BookingRule(Protocol):
    require_phone: bool


class HandoffRule(Protocol):
    release_after_minutes: int


class HotelConfig(Protocol):
    """The part of the hotel's settings that flows need (bot.config.Settings satisfies it)."""

    @property
    def hotel(self) -> HotelInfo: ...
    @property
    def faq(self) -> Mapping[str, BilingualText]: ...
    @property
    def departments(self) -> Mapping[str, BilingualText]: ...
    @property
    def ticket_categories(self) -> Mapping[str, TicketRule]: ...
    @property
    def room_types(self) -> Sequence[RoomTypeInfo]: ...
    @property
    def cancellation_policy(self) -> CancellationRule: ...
    @property
    def booking(self) -> BookingRule: ...

    def handoff(self) -> HandoffRule: ...
    @property
    def default_language(self) -> str: ...
    @property
    def languages(self) -> Sequence[str]: ...
    def room_type(self, code: str) -> RoomTypeInfo | None: ...


@dataclass
class Turn:
    session: AsyncSession
    hotel: HotelConfig
    catalog: Catalog
    inbound: Inbound
    guest: Guest
    state: ConversationState
    message_id: int  # the guest's message in the log (preferences point at it)
    analysis: Analysis | None
    locale: str
    now: datetime
    recent_inbound: int = 0  # the guest's messages in the last flood window, this one not included
    replies: list[Reply] = field(default_factory=list)
    ticket_id: int | None = None
    join_guest: int | None = None  # this identity proved to belong to that existing guest: joined after the turn

    def t(self, key: str, **values: object) -> str:
        return self.catalog.text(self.locale, key, **values)

    def say(self, key: str, buttons: Sequence[Button] = (), **values: object) -> None:
        self.replies.append(Reply(self.t(key, **values), tuple(buttons)))

    def say_text(self, text: str, buttons: Sequence[Button] = ()) -> None:
        self.replies.append(Reply(text, tuple(buttons)))

    def button(self, key: str, value: str) -> Button:
        return Button(self.t(key), value)

    @property
    def staff_locale(self) -> str:
        return self.hotel.default_language
