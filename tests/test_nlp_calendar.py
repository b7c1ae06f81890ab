"""One calendar for the analyser and the scheduler: every year computed (up to 2050 and beyond), no table.

Published dates: State Council holiday notices and the Purple Mountain Observatory's calendar (lunar dates,
清明); the later years are the ones a typed table never had.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from lunar_python import Lunar

from nlp import Analyzer
from nlp.calendar import RULES, holiday_date, next_holiday
from scheduler.calendar import holiday_date as scheduler_holiday_date
from scheduler.config import ALL_HOLIDAYS

PUBLISHED = [
    ("spring_festival", date(2031, 1, 23)), ("spring_festival", date(2040, 2, 12)),
    ("spring_festival", date(2050, 1, 23)), ("new_year_eve_lunar", date(2050, 1, 22)),
    ("new_year_eve_lunar", date(2033, 1, 30)), ("lantern", date(2045, 3, 3)),
    ("dragon_boat", date(2035, 6, 10)), ("qixi", date(2031, 8, 24)), ("mid_autumn", date(2050, 9, 30)),
    ("mid_autumn", date(2038, 9, 13)), ("double_ninth", date(2045, 10, 18)),
    ("qingming", date(2026, 4, 5)), ("qingming", date(2028, 4, 4)), ("qingming", date(2032, 4, 4)),
    ("qingming", date(2047, 4, 5)), ("qingming", date(2050, 4, 4)),
    ("new_year", date(2050, 1, 1)), ("labour_day", date(2049, 5, 1)), ("national_day", date(2050, 10, 1)),
]


@pytest.mark.parametrize(("code", "expected"), PUBLISHED)
def test_holidays_are_computed_for_any_year(code: str, expected: date) -> None:
    assert holiday_date(code, expected.year) == expected


def test_every_year_to_2060_has_every_holiday_and_the_scheduler_reads_the_same_calendar() -> None:
    for year in range(2025, 2061):
        for code in RULES:
            assert holiday_date(code, year).year in (year, year - 1 if code == "new_year_eve_lunar" else year)
        for code in ALL_HOLIDAYS:
            assert scheduler_holiday_date(code, year) == holiday_date(code, year)
        # a second, independent lunar implementation agrees on every lunar festival (to 2050: in 2057 the two
        # disagree by a day on the 9th month, a new moon close to midnight that almanacs also dispute)
        for code, (kind, month, day) in RULES.items():
            if kind == "lunar" and year <= 2050:
                solar = Lunar.fromYmd(year, month, day).getSolar()
                assert holiday_date(code, year) == date(solar.getYear(), solar.getMonth(), solar.getDay()), (code, year)
    # 清明 falls on 4 or 5 April (occasionally the 6th, never in these years)
    assert {holiday_date("qingming", year).day for year in range(2025, 2061)} <= {4, 5}


def test_next_holiday_counts_today_and_rolls_into_next_year() -> None:
    assert next_holiday("mid_autumn", date(2050, 9, 30)) == date(2050, 9, 30)
    assert next_holiday("mid_autumn", date(2050, 10, 1)) == date(2051, 9, 19)
    assert next_holiday("no_such_day", date(2050, 1, 1)) is None
    with pytest.raises(ValueError):
        holiday_date("no_such_day", 2030)


def _local(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T10:00:00+08:00")


@pytest.mark.parametrize(
    ("text", "today", "entities"),
    [
        ("春节入住两晚", "2030-06-01", {"check_in": "2031-01-23", "check_out": "2031-01-25", "nights": 2}),
        ("除夕到初一两个人", "2049-12-01", {"check_in": "2050-01-22"}),
        ("清明节订一间房", "2049-05-01", {"check_in": "2050-04-04"}),
        ("中秋节想住一晚", "2050-01-01", {"check_in": "2050-09-30", "check_out": "2050-10-01", "nights": 1}),
        ("重阳节订房", "2045-01-01", {"check_in": "2045-10-18"}),
        ("七夕节还有大床房吗", "2031-08-25", {"check_in": "2032-08-12"}),
        ("book a room for chinese new year", "2044-02-01", {"check_in": "2045-02-17"}),
        ("國慶入住三晚", "2050-09-01", {"check_in": "2050-10-01", "check_out": "2050-10-04", "nights": 3}),
    ],
)
def test_guests_name_holidays_in_any_year(analyzer: Analyzer, text: str, today: str, entities: dict) -> None:
    found = analyzer.analyze_strict(text, now=_local(today)).entities
    assert {key: found.get(key) for key in entities} == entities


@pytest.mark.parametrize(
    ("text", "entities"),
    [
        ("我在一二零八房，毛巾不够", {"room_number": "1208"}),
        ("房间三百二的空调坏了", {"room_number": "320"}),
        ("廿五号入住两晚", {"check_in": "2030-03-25", "nights": 2}),
        ("三月廿五号入住", {"check_in": "2030-03-25"}),
        ("我们两千年出生的，俩人住一晚", {"guests": 2, "nights": 1}),
        ("住十五晚", {"nights": 15}),
    ],
)
def test_chinese_numerals(analyzer: Analyzer, text: str, entities: dict) -> None:
    found = analyzer.analyze_strict(text, now=_local("2030-03-01")).entities
    assert {key: found.get(key) for key in entities} == entities


def test_cn_numeral_reader() -> None:
    from nlp.numbers import cn_int

    assert [cn_int(t) for t in ("一二零八", "三百二", "两千", "廿五", "俩", "卅一", "二十四", "一点", "")] == [
        1208, 320, 2000, 25, 2, 31, 24, None, None]


def test_day_only_dates_at_month_ends(analyzer: Analyzer) -> None:
    """"30号" said on 31 January is the next 30th that exists: 30 March (February has none)."""
    on = lambda text, day: analyzer.analyze_strict(text, now=_local(day)).entities.get("check_in")  # noqa: E731
    assert on("30号入住", "2030-01-31") == "2030-03-30"
    assert on("31号入住", "2030-04-01") == "2030-05-31"
    assert on("29号入住", "2048-01-30") == "2048-02-29"
    assert on("check in on the 30th", "2030-01-31") == "2030-03-30"
    assert on("31号入住", "2030-12-31") == "2030-12-31"
    assert on("1号入住", "2050-12-31") == "2051-01-01"


def test_weekdays_resolve_alike_in_both_languages(analyzer: Analyzer) -> None:
    """A bare weekday is the coming one, today included; "next" / 下 is the one in next week."""
    friday = "2030-03-01"
    pairs = [("周五入住", "check in friday"), ("星期五入住", "check in on friday"), ("下周五入住", "check in next friday"),
             ("这周日入住", "check in this sunday"), ("周一入住", "check in monday"), ("下周一入住", "check in next monday")]
    for zh, en in pairs:
        a = analyzer.analyze_strict(zh, now=_local(friday)).entities.get("check_in")
        b = analyzer.analyze_strict(en, now=_local(friday)).entities.get("check_in")
        assert a == b and a is not None, (zh, en, a, b)
    assert analyzer.analyze_strict("周五入住", now=_local(friday)).entities["check_in"] == friday
    assert analyzer.analyze_strict("下周五入住", now=_local(friday)).entities["check_in"] == "2030-03-08"
    assert analyzer.analyze_strict("check in friday next week", now=_local(friday)).entities["check_in"] == "2030-03-08"
    assert analyzer.analyze_strict("周一入住", now=_local(friday)).entities["check_in"] == "2030-03-04"
    assert date.fromisoformat("2030-03-08") - date.fromisoformat(friday) == timedelta(days=7)


def test_numeric_dates_follow_the_hotels_custom(tmp_path) -> None:
    """"3/4" is 4 March where guests write month first (the default: China, the US), 3 April where they write day
    first (hotel.numeric_dates: day_first); "24/12" can only be 24 December either way."""
    now = _local("2030-03-01")
    month_first = Analyzer(cache_dir=tmp_path)
    day_first = Analyzer(cache_dir=tmp_path, day_first=True)
    assert month_first.analyze_strict("check in 3/4", now=now).entities["check_in"] == "2030-03-04"
    assert day_first.analyze_strict("check in 3/4", now=now).entities["check_in"] == "2030-04-03"
    for analyzer in (month_first, day_first):
        assert analyzer.analyze_strict("24/12入住", now=now).entities["check_in"] == "2030-12-24"
