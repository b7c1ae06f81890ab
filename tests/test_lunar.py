"""Lunar holidays are computed, and match the published dates for 2026–2030."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from scheduler.calendar import birthday_year, holiday_date, holidays_on, lunar_birthday, solar_birthday

# Published dates (State Council holiday notices and the Purple Mountain Observatory's calendar).
PUBLISHED = {
    2026: {"spring_festival": date(2026, 2, 17), "lantern": date(2026, 3, 3), "dragon_boat": date(2026, 6, 19), "mid_autumn": date(2026, 9, 25)},
    2027: {"spring_festival": date(2027, 2, 6), "lantern": date(2027, 2, 20), "dragon_boat": date(2027, 6, 9), "mid_autumn": date(2027, 9, 15)},
    2028: {"spring_festival": date(2028, 1, 26), "lantern": date(2028, 2, 9), "dragon_boat": date(2028, 5, 28), "mid_autumn": date(2028, 10, 3)},
    2029: {"spring_festival": date(2029, 2, 13), "lantern": date(2029, 2, 27), "dragon_boat": date(2029, 6, 16), "mid_autumn": date(2029, 9, 22)},
    2030: {"spring_festival": date(2030, 2, 3), "lantern": date(2030, 2, 17), "dragon_boat": date(2030, 6, 5), "mid_autumn": date(2030, 9, 12)},
}


@pytest.mark.parametrize("year", sorted(PUBLISHED))
def test_lunar_holidays_match_published_dates(year: int) -> None:
    for code, expected in PUBLISHED[year].items():
        assert holiday_date(code, year) == expected, (code, year)


def test_solar_holidays_and_lookup_by_day() -> None:
    assert holiday_date("new_year", 2028) == date(2028, 1, 1)
    assert holiday_date("national_day", 2029) == date(2029, 10, 1)
    assert holiday_date("christmas", 2030) == date(2030, 12, 25)
    assert holidays_on(date(2027, 2, 6), ["spring_festival", "christmas"]) == ["spring_festival"]
    assert holidays_on(date(2026, 10, 1), ["national_day", "mid_autumn"]) == ["national_day"]


def test_birthdays_solar_leap_day_and_lunar() -> None:
    assert solar_birthday(date(1992, 2, 29), 2026) == date(2026, 2, 28)
    assert solar_birthday(date(1992, 2, 29), 2028) == date(2028, 2, 29)
    # Born 1990-02-17 = 农历正月廿二: in 2026 that is 10 March, in 2027 27 February.
    assert lunar_birthday(date(1990, 2, 17), 2026) == date(2026, 3, 10)
    assert lunar_birthday(date(1990, 2, 17), 2027) == date(2027, 2, 27)
    assert birthday_year(date(1990, 2, 17), True, date(2026, 3, 10)) == 2026
    assert birthday_year(date(1990, 2, 17), True, date(2026, 2, 17)) is None
    # 农历十一月三十: celebrated on the 29th when the month is short; one greeting per lunar year.
    born = date(1991, 1, 15)
    days = [d for d in (date(2026, 1, 1) + timedelta(n) for n in range(800)) if birthday_year(born, True, d) is not None]
    assert len(days) == len({birthday_year(born, True, d) for d in days}) >= 2
