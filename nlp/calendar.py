"""The one holiday calendar: every named day's date in any year, computed, never typed in.

A typed table runs out (the last one ended in 2030); this computes each year from rules:
- lunar festivals (春节, 除夕, 元宵, 端午, 七夕, 中秋, 重阳) with `lunardate`, which covers 1900–2099;
- 清明, which is a solar term (the sun at 15° longitude), not a lunar date, with `lunar-python`'s solar-term
  table, a maintained astronomical library, rather than a formula of our own;
- fixed days (元旦, 劳动节, 国庆, 圣诞…) on their month and day.

The analyser reads holiday names in messages through this (`nlp.dates`), and the scheduler greets guests on
the same dates (`scheduler.calendar`), so both always agree.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from typing import Literal

from lunardate import LunarDate

Rule = tuple[Literal["solar", "lunar", "lunar_eve", "term"], int, int]

# code → how its date is found: ("solar", month, day), ("lunar", lunar month, lunar day),
# ("lunar_eve", 1, 1) = the day before lunar new year (the 12th month has 29 or 30 days), ("term", 清明 = 5th
# solar term of the year counted from 小寒, 0).
RULES: dict[str, Rule] = {
    "new_year": ("solar", 1, 1),  # 元旦
    "valentine": ("solar", 2, 14),
    "labour_day": ("solar", 5, 1),  # 劳动节
    "national_day": ("solar", 10, 1),  # 国庆
    "christmas_eve": ("solar", 12, 24),  # 平安夜
    "christmas": ("solar", 12, 25),
    "new_year_eve": ("solar", 12, 31),
    "spring_festival": ("lunar", 1, 1),  # 春节
    "new_year_eve_lunar": ("lunar_eve", 1, 1),  # 除夕
    "lantern": ("lunar", 1, 15),  # 元宵
    "dragon_boat": ("lunar", 5, 5),  # 端午
    "qixi": ("lunar", 7, 7),  # 七夕
    "mid_autumn": ("lunar", 8, 15),  # 中秋
    "double_ninth": ("lunar", 9, 9),  # 重阳
    "qingming": ("term", 0, 0),  # 清明
}


def lunar_to_solar(year: int, month: int, day: int, leap: bool = False) -> date:
    """The solar date of a lunar date; a day 30 in a 29-day month falls back to the month's last day."""
    for candidate in (day, 29, 28):
        if candidate > day:
            continue
        try:
            return LunarDate(year, month, candidate, leap).to_solar_date()
        except ValueError:
            continue
    raise ValueError(f"no lunar date {year}-{month}-{day}")


@lru_cache(maxsize=256)
def _qingming(year: int) -> date:
    """清明 of `year` from lunar-python's solar-term table (imported only when a 清明 is asked for)."""
    from lunar_python import Solar  # noqa: PLC0415 - a few ms of import that most processes never need

    term = Solar.fromYmd(year, 6, 1).getLunar().getJieQiTable()["清明"]
    return date(term.getYear(), term.getMonth(), term.getDay())


@lru_cache(maxsize=1024)
def holiday_date(code: str, year: int) -> date:
    """The holiday's solar date in `year` (a lunar festival: the one of the lunar year starting in `year`;
    除夕: the eve of that lunar year, so it can fall in January or February). ValueError for an unknown code."""
    rule = RULES.get(code)
    if rule is None:
        raise ValueError(f"unknown holiday {code!r}")
    kind, month, day = rule
    if kind == "solar":
        return date(year, month, day)
    if kind == "lunar":
        return lunar_to_solar(year, month, day)
    if kind == "lunar_eve":
        return lunar_to_solar(year, 1, 1) - timedelta(days=1)
    return _qingming(year)


def next_holiday(code: str, today: date) -> date | None:
    """The first date of the holiday on or after `today` (None outside the years the libraries cover)."""
    for year in (today.year, today.year + 1):
        try:
            found = holiday_date(code, year)
        except ValueError:
            return None
        if found >= today:
            return found
    return None


def holidays_on(day: date, codes: list[str] | tuple[str, ...]) -> list[str]:
    """The given holidays that fall on `day`."""
    return [code for code in codes if holiday_date(code, day.year) == day]
