"""Holiday and birthday dates, solar and lunar.

Lunar dates (春节, 元宵, 端午, 中秋 and lunar birthdays) are computed with ``lunardate`` rather than typed
into a table: a typed table silently runs out, and the hotel should never have to edit dates by hand.
"""

from __future__ import annotations

from datetime import date, timedelta

from lunardate import LunarDate

from scheduler.config import HolidayCode

# (month, day) in the lunar calendar, or in the solar calendar for the others.
LUNAR_HOLIDAYS: dict[str, tuple[int, int]] = {
    "spring_festival": (1, 1),  # 春节
    "lantern": (1, 15),  # 元宵
    "dragon_boat": (5, 5),  # 端午
    "mid_autumn": (8, 15),  # 中秋
}
SOLAR_HOLIDAYS: dict[str, tuple[int, int]] = {
    "new_year": (1, 1),  # 元旦
    "national_day": (10, 1),  # 国庆
    "christmas": (12, 25),
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


def holiday_date(code: HolidayCode | str, year: int) -> date:
    """The holiday's solar date in ``year`` (lunar holidays use the lunar year that starts in ``year``)."""
    if code in LUNAR_HOLIDAYS:
        month, day = LUNAR_HOLIDAYS[code]
        return lunar_to_solar(year, month, day)
    if code in SOLAR_HOLIDAYS:
        month, day = SOLAR_HOLIDAYS[code]
        return date(year, month, day)
    raise ValueError(f"unknown holiday {code!r}")


def holidays_on(day: date, codes: list[str] | tuple[str, ...]) -> list[str]:
    """The configured holidays that fall on ``day``."""
    return [code for code in codes if holiday_date(code, day.year) == day]


def solar_birthday(birthday: date, year: int) -> date:
    """This year's birthday; 29 February is celebrated on 28 February in common years."""
    try:
        return birthday.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def lunar_birthday(birthday: date, lunar_year: int) -> date | None:
    """The solar date of the lunar anniversary of ``birthday`` in ``lunar_year``.

    A birthday in a leap month is celebrated in the regular month (the usual custom); day 30 in a short
    month on day 29.
    """
    born = LunarDate.from_solar_date(birthday.year, birthday.month, birthday.day)
    try:
        return lunar_to_solar(lunar_year, born.month, born.day)
    except ValueError:
        return None


def birthday_year(birthday: date, lunar: bool, day: date) -> int | None:
    """The year whose birthday falls on ``day`` (solar year, or lunar year for lunar birthdays), else None.

    A lunar anniversary can fall in January of the next solar year, and one solar year can hold two (or no)
    lunar anniversaries, so the lunar year — not the solar one — identifies the greeting.
    """
    if not lunar:
        return day.year if solar_birthday(birthday, day.year) == day else None
    for lunar_year in (day.year - 1, day.year):
        if lunar_birthday(birthday, lunar_year) == day:
            return lunar_year
    return None


def is_birthday(birthday: date, lunar: bool, day: date) -> bool:
    return birthday_year(birthday, lunar, day) is not None


def days(start: date, end: date) -> list[date]:
    """Every date from ``start`` to ``end`` inclusive."""
    return [start + timedelta(days=offset) for offset in range((end - start).days + 1)]
