"""What campaign code is given by the wiring layer: the hotel's facts, the wording function, the clock rules.

scheduler/ never imports bot/ or handlers/: bot/ builds a ``CampaignContext`` from its settings and passes
a ``Render`` built from the message catalogs, so wording stays in the YAML catalogs and out of Python.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from scheduler.config import CampaignSettings

Render = Callable[[str, str, Mapping[str, object]], str]  # (locale, key, values) -> text


@dataclass(frozen=True)
class CampaignContext:
    zone: ZoneInfo  # the hotel's zone: check-in/check-out and pre-arrival are hotel times
    render: Render
    settings: CampaignSettings = field(default_factory=CampaignSettings)
    quiet_start: time = time(22, 0)
    quiet_end: time = time(8, 0)
    check_in_time: time = time(14, 0)
    check_out_time: time = time(12, 0)
    hotel_name: Mapping[str, str] = field(default_factory=dict)  # locale -> text
    address: Mapping[str, str] = field(default_factory=dict)  # locale -> text
    departments: Mapping[str, str] = field(default_factory=dict)  # code -> name in the staff's language
    languages: tuple[str, ...] = ("zh-Hans", "zh-Hant", "en")
    default_language: str = "zh-Hans"
    staff_locale: str = "zh-Hans"
    push_channels: tuple[str, ...] = ("telegram",)  # channels the outbox can deliver to a guest
    complaint_department: str = "guest_relations"
    complaint_respond_minutes: int = 5
    complaint_resolve_minutes: int = 120
    handoff_release_minutes: int = 30  # staff silence after which the bot takes a held conversation back

    def locale(self, language: str | None) -> str:
        return language if language in self.languages else self.default_language

    def text(self, locale: str, key: str, **values: object) -> str:
        return self.render(locale, key, values)

    def hotel(self, locale: str) -> str:
        return self.hotel_name.get(locale) or self.hotel_name.get(self.default_language, "")


_ZONES: dict[str, tzinfo] = {}


def guest_zone(name: str | None, fallback: tzinfo) -> tzinfo:
    """The guest's own zone when set and valid; the hotel's otherwise (guest data is untrusted)."""
    if not name:
        return fallback
    zone = _ZONES.get(name)
    if zone is None:
        try:
            zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            zone = fallback
        if len(_ZONES) < 1000:
            _ZONES[name] = zone
    return zone


def at_local(day: date, moment: time, zone: tzinfo) -> datetime:
    """``day`` at ``moment`` in ``zone``, as UTC."""
    return datetime.combine(day, moment, tzinfo=zone).astimezone(UTC)


def local_day(now: datetime, zone: tzinfo) -> date:
    return now.astimezone(zone).date()


def end_of_local_day(day: date, zone: tzinfo) -> datetime:
    return at_local(day + timedelta(days=1), time(0, 0), zone)
