"""Holiday and birthday dates, solar and lunar.

Holiday dates come from the one calendar in `nlp.calendar` (the analyser reads "春节入住" with the same
dates the scheduler greets on); lunar birthdays are computed here with the same lunar conversion, never
typed into a table: a typed table silently runs out, and the hotel should never have to edit dates by hand.
"""

from __future__ import annotations

from datetime import date, timedelta

from lunardate import LunarDate

from nlp.calendar import holiday_date, holidays_on, lunar_to_solar

__all__ = ["birthday_year", "days", "holiday_date", "holidays_on", "is_birthday", "lunar_birthday",
           "solar_birthday"]


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
