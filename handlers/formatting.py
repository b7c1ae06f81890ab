"""Dates and money in the guest's locale, with patterns from the catalogs (money in the hotel's currency)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from handlers.context import Turn


def fmt_date(turn: Turn, day: date) -> str:
    weekdays = turn.t("fmt.weekdays").split(",")
    months = turn.t("fmt.months").split(",")
    return turn.t("fmt.date", y=day.year, m=day.month, d=day.day, mon=months[day.month - 1], wd=weekdays[day.weekday()])


def fmt_datetime(turn: Turn, moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{fmt_date(turn, local.date())} {local:%H:%M}"


def fmt_money(turn: Turn, amount: int) -> str:
    return turn.catalog.money(turn.locale, amount, turn.hotel.hotel.currency)
