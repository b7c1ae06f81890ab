"""Date expressions in a guest message, resolved to calendar dates.

Guests name days every way at once: ISO (2025-12-24), month and day (12月24号, Dec 24, 24th of
December, 12/24), relative days (明晚, tomorrow), weekdays (下周五, next friday), a day in a month named
by its distance (下个月10号, the 10th of next month), holidays (春节, christmas) and bare days that lean
on the date before them (24号到26号, the 20th). `DateFinder.find` returns each as a span of the text;
which one is the check-in and which the check-out is `nlp.stay`'s business.

Relative dates resolve against the hotel's local date passed in as `today`, never the server's clock.
Each family of patterns is guarded by a cheap substring test, because most messages name no date and
the regexes are the expensive part.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from nlp.calendar import RULES, next_holiday
from nlp.lexicon import load_yaml
from nlp.numbers import CN_NUM, cn_int

Span = tuple[int, int, date]  # (start, end, the date it names) in the canonical text

_MONTHS = {"jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4, "may": 5,
           "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9, "sept": 9, "september": 9,
           "oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12}
_MONTH_RE = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
_EN_WEEKDAYS = {"mon": 0, "monday": 0, "tue": 1, "tues": 1, "tuesday": 1, "wed": 2, "wednesday": 2, "thu": 3,
                "thur": 3, "thurs": 3, "thursday": 3, "fri": 4, "friday": 4, "sat": 5, "saturday": 5, "sun": 6,
                "sunday": 6, "weekend": 5}
_CN_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": 5,
                "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6}
_RELATIVE = {"今天": 0, "今晚": 0, "今日": 0, "今夜": 0, "今儿": 0, "当天": 0, "明天": 1, "明晚": 1, "明日": 1, "明早": 1,
             "明儿": 1, "明夜": 1, "后天": 2, "后晚": 2, "大后天": 3, "today": 0, "tonight": 0, "tomorrow": 1,
             "tmr": 1, "tmrw": 1, "tomorow": 1, "tommorow": 1, "tommorrow": 1, "2morrow": 1,
             "day after tomorrow": 2, "the day after tomorrow": 2}

_D_ISO = re.compile(r"(?<!\d)(20\d\d)\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?")
_D_CN_MD = re.compile(rf"(?<![\d十])({CN_NUM})\s*月\s*({CN_NUM})\s*[日号]?(?:\s*[-~到至]\s*({CN_NUM})\s*[日号])?")
_D_CN_DAY = re.compile(rf"(?<![\d月])({CN_NUM})\s*号(?![房楼线门床位桌])")
_D_CN_REL = re.compile(r"大后天|后天|后晚|明天|明晚|明日|明早|明儿|明夜|今天|今晚|今日|今夜|今儿|当天")
_D_CN_WEEK = re.compile(r"(下下|下个?|这个?|本)?\s*(?:周|星期|礼拜)\s*([一二三四五六日天末1-7])")
_D_EN_REL = re.compile(r"\b(?:the )?day after (?:tomorrow|tmr|tmrw)\b|\b(?:today|tonight|tomorrow|tmrw?|tomorow|tommorr?ow|2morrow)\b")
# "friday", "next friday", "next week on friday", "friday next week", "sunday this week"
_D_EN_WEEK = re.compile(r"\b(?:(next|this|coming|following)\s+(?:week\s+(?:on\s+)?)?)?"
                        r"(monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekend"
                        r"|mon|tues?|wed|thur?s?|fri|sat|sun)"
                        r"\b(?!\s*\d)(?:\s+(?:of\s+)?(next|this|the following|the coming)\s+week\b)?")
_D_EN_MD = re.compile(rf"\b{_MONTH_RE}\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:\s*(?:-|–|to|till|until|through)\s*(\d{{1,2}})(?:st|nd|rd|th)?\b(?!\s*(?:am|pm|:|night|people|guest)))?")
_D_EN_DM = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s*(?:-\s*(\d{{1,2}})(?:st|nd|rd|th)?\s*)?(?:of\s+)?{_MONTH_RE}\b")
_D_EN_ORD = re.compile(r"\bthe (\d{1,2})(?:st|nd|rd|th)\b")
# "下个月10号", "本月20日", "the 10th of next month", "next month on the 3rd": a day in a month named by
# its distance from now (the plain 月…号 pattern needs a month number, and 号 after 月 is not a bare day)
_D_CN_REL_MONTH = re.compile(rf"(下下个?月|下个?月|这个?月|本月|当月)\s*({CN_NUM})\s*[号日]")
_D_EN_REL_MONTH = re.compile(r"\b(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?(next|this)\s+month\b"
                             r"|\b(next|this)\s+month\s+(?:on\s+)?(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)?\b")
_D_NUMERIC = re.compile(r"(?<![\d/.:])(\d{1,2})/(\d{1,2})(?![\d/])")

_MONTH_HINT = re.compile(r"jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec")
_REL_HINT = re.compile(r"[今明后当]|to(?:day|night|m)|tmr|morrow|mon|tue|wed|thu|fri|sat|sun|weekend")


def load_holidays(dirs: Iterable[Path]) -> dict[str, Any]:
    """Merge `holiday_names.yaml` of every lexicon directory: a hotel adds names and local festivals on top.

    Only names live in files; their dates come from `nlp.calendar`, which computes every year.
    """
    holidays: dict[str, Any] = {"names": {}, "fixed": {}}
    for directory in dirs:
        path = Path(directory) / "holiday_names.yaml"
        if path.is_file():
            data = load_yaml(path)
            for section in ("names", "fixed"):
                holidays[section].update(data.get(section) or {})
    return holidays


def _valid(year: int, month: int, day: int) -> date | None:
    """A date, or None for the 31st of a short month a guest may well write."""
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _month_day(today: date, month: int | None, day: int | None) -> date | None:
    """A month-day without a year: this year, or next year once it has passed."""
    if not month or not day:
        return None
    found = _valid(today.year, month, day)
    if found is None:
        return None
    if found < today:
        found = _valid(today.year + 1, month, day)
    return found


def _in_month(today: date, ahead: int, day: int | None) -> date | None:
    """Day `day` of the month `ahead` months after today's (0 = this month)."""
    if not day:
        return None
    index = today.month - 1 + ahead
    return _valid(today.year + index // 12, index % 12 + 1, day)


def _day_only(today: date, day: int | None, anchor: date | None) -> date | None:
    """'20号' / 'the 20th': in the anchor's (or this) month if not yet past, else the next month that has
    that day ("30号" said on 31 January is 30 March: February has no 30th)."""
    if not day or day > 31:
        return None
    base = anchor or today
    for ahead in range(3):
        index = base.month - 1 + ahead
        found = _valid(base.year + index // 12, index % 12 + 1, day)
        if found is not None and found >= base:
            return found
    return None


def _weekday(today: date, target: int, modifier: str | None) -> date:
    """周五 / friday: the coming one (today counts); 下周五 / next friday: the one in next week."""
    if modifier in ("下", "下个", "next"):
        monday = today - timedelta(days=today.weekday()) + timedelta(days=7)
        return monday + timedelta(days=target)
    if modifier == "下下":
        monday = today - timedelta(days=today.weekday()) + timedelta(days=14)
        return monday + timedelta(days=target)
    if modifier in ("这", "这个", "本", "this"):
        monday = today - timedelta(days=today.weekday())
        found = monday + timedelta(days=target)
        return found if found >= today else found + timedelta(days=7)
    return today + timedelta(days=(target - today.weekday()) % 7)


def _add(found: list[Span], start: int, end: int, value: date | None) -> None:
    """Keep a match only if it names a real day (a pattern can match "2月30号")."""
    if value is not None:
        found.append((start, end, value))


def _calendar_dates(text: str, today: date, found: list[Span], has_digit: bool, cn_numeric: bool,
                    month_names: bool, day_first: bool = False) -> None:
    """Dates that name their month: ISO, 12月24号(-26号), Dec 24(-26), 24(-26) December, 12/24.

    "3/4" is read the way the hotel's guests write it (`day_first`: 3 April in the UK, else 4 March as in China
    and the US); a first number above 12 can only be a day, whatever the custom ("24/12")."""
    for m in _D_ISO.finditer(text) if has_digit else ():
        _add(found, m.start(), m.end(), _valid(int(m.group(1)), int(m.group(2)), int(m.group(3))))
    for m in _D_CN_MD.finditer(text) if cn_numeric and "月" in text else ():
        first = _month_day(today, cn_int(m.group(1)), cn_int(m.group(2)))
        _add(found, m.start(), m.end(2) + 1, first)
        if m.group(3) and first is not None:
            _add(found, m.start(3), m.end(), _day_only(first, cn_int(m.group(3)), first))
    for m in _D_EN_MD.finditer(text) if month_names else ():
        first = _month_day(today, _MONTHS.get(m.group(1)), int(m.group(2)))
        _add(found, m.start(), m.end(2), first)
        if m.group(3) and first is not None:
            _add(found, m.start(3), m.end(), _day_only(first, int(m.group(3)), first))
    for m in _D_EN_DM.finditer(text) if month_names else ():
        month = _MONTHS.get(m.group(3))
        if m.group(2):
            first = _month_day(today, month, int(m.group(1)))
            _add(found, m.start(), m.start() + len(m.group(1)), first)
            if first is not None:
                _add(found, m.start(2), m.end(), _day_only(first, int(m.group(2)), first))
        else:
            _add(found, m.start(), m.end(), _month_day(today, month, int(m.group(1))))
    for m in _D_NUMERIC.finditer(text) if has_digit and "/" in text else ():
        a, b = int(m.group(1)), int(m.group(2))
        if day_first:
            a, b = b, a
        month, day = (a, b) if a <= 12 else (b, a)
        _add(found, m.start(), m.end(), _month_day(today, month, day))


def _relative_months(text: str, today: date, found: list[Span], has_cjk: bool, has_latin: bool,
                     has_digit: bool) -> None:
    """下个月10号 / 本月20日 / the 10th of next month: a day in a month counted from this one."""
    for m in _D_CN_REL_MONTH.finditer(text) if has_cjk and "月" in text else ():
        ahead = 2 if m.group(1).startswith("下下") else 1 if m.group(1).startswith("下") else 0
        _add(found, m.start(), m.end(), _in_month(today, ahead, cn_int(m.group(2))))
    for m in _D_EN_REL_MONTH.finditer(text) if has_latin and has_digit and "month" in text else ():
        word, day = (m.group(2), m.group(1)) if m.group(1) else (m.group(3), m.group(4))
        _add(found, m.start(), m.end(), _in_month(today, 1 if word == "next" else 0, int(day)))


def _relative_days(text: str, today: date, found: list[Span], has_cjk: bool, has_latin: bool,
                   cn_week: bool) -> None:
    """明晚 / tomorrow / 下周五 / next friday: days counted from today."""
    for m in _D_CN_REL.finditer(text) if has_cjk else ():
        _add(found, m.start(), m.end(), today + timedelta(days=_RELATIVE[m.group(0)]))
    for m in _D_EN_REL.finditer(text) if has_latin else ():
        word = m.group(0)
        days = 2 if "after" in word else _RELATIVE.get(word, 1)
        _add(found, m.start(), m.end(), today + timedelta(days=days))
    for m in _D_CN_WEEK.finditer(text) if cn_week else ():
        _add(found, m.start(), m.end(), _weekday(today, _CN_WEEKDAYS[m.group(2)], (m.group(1) or "").strip() or None))
    for m in _D_EN_WEEK.finditer(text) if has_latin else ():
        word = m.group(3) or m.group(1)  # "friday next week" and "next week friday" are "next friday"
        modifier = "next" if word in ("next", "following", "the following") else "this" if word == "this" else None
        _add(found, m.start(), m.end(), _weekday(today, _EN_WEEKDAYS[m.group(2)], modifier))


def _bare_days(text: str, today: date, found: list[Span], has_cjk: bool, has_latin: bool, has_digit: bool) -> None:
    """24号 / the 20th: a day without a month takes the month of the date before it ("24号到26号")."""
    spans = sorted(found)
    for m in _D_CN_DAY.finditer(text) if has_cjk and "号" in text else ():
        if any(s <= m.start() < e for s, e, _ in spans):
            continue
        anchor = max((d for s, e, d in spans if e <= m.start()), default=None)
        _add(found, m.start(), m.end(), _day_only(today, cn_int(m.group(1)), anchor))
    for m in _D_EN_ORD.finditer(text) if has_latin and has_digit else ():
        if any(s <= m.start() < e for s, e, _ in spans):
            continue
        anchor = max((d for s, e, d in spans if e <= m.start()), default=None)
        _add(found, m.start(), m.end(), _day_only(today, int(m.group(1)), anchor))


def _left_to_right(found: list[Span]) -> list[Span]:
    """Where matches overlap the longest wins ("12月24号" over "24号"); then in reading order."""
    found.sort(key=lambda item: (item[0], -(item[1] - item[0])))
    dates: list[Span] = []
    last_end = -1
    for start, end, value in found:
        if start >= last_end:
            dates.append((start, end, value))
            last_end = end
    return dates


class DateFinder:
    """Finds the dates a message names; stateless after construction, so safe to share between threads."""

    def __init__(self, holidays: Mapping[str, Any], day_first: bool = False) -> None:
        self._day_first = day_first
        self._fixed = {str(k).lower(): tuple(int(x) for x in str(v).split("-"))
                       for k, v in (holidays.get("fixed") or {}).items()}
        self._codes = {str(k).lower(): str(v) for k, v in (holidays.get("names") or {}).items() if v in RULES}
        # longest first, so "christmas eve" is not read as "christmas" followed by a stray word
        names = sorted([*self._fixed, *self._codes], key=len, reverse=True)
        self._holiday_re = re.compile("|".join(re.escape(n) for n in names)) if names else None

    def find(self, text: str, today: date, has_digit: bool, has_latin: bool, has_cjk: bool) -> list[Span]:
        """The dates in canonical `text`, non-overlapping, left to right (empty for most messages)."""
        numeric = has_digit or (has_cjk and ("月" in text or "号" in text))
        month_names = has_latin and _MONTH_HINT.search(text) is not None
        cn_week = has_cjk and ("周" in text or "星期" in text or "礼拜" in text)
        holiday = self._holiday_re is not None and (has_cjk or has_latin)
        if not (numeric or month_names or cn_week or holiday or _REL_HINT.search(text)):
            return []
        found: list[Span] = []
        # each family is called only if its own guard could pass (repeated here: most messages name no
        # date, and a call that finds nothing is then the whole cost)
        cn_month = has_cjk and "月" in text
        if has_digit or month_names or (numeric and cn_month):
            _calendar_dates(text, today, found, has_digit, numeric and has_cjk, month_names, self._day_first)
        if cn_month or (has_latin and has_digit and "month" in text):
            _relative_months(text, today, found, has_cjk, has_latin, has_digit)
        _relative_days(text, today, found, has_cjk, has_latin, cn_week)
        if holiday:
            self._holidays(text, today, found)
        if (has_cjk and "号" in text) or (has_latin and has_digit):
            _bare_days(text, today, found, has_cjk, has_latin, has_digit)
        return _left_to_right(found) if found else []

    def _holidays(self, text: str, today: date, found: list[Span]) -> None:
        """Named days (平安夜, chinese new year); the names come from `holiday_names.yaml`, not from code."""
        if self._holiday_re is None:
            return
        for m in self._holiday_re.finditer(text):
            _add(found, m.start(), m.end(), self._holiday(m.group(0), today))

    def _holiday(self, name: str, today: date) -> date | None:
        """A named day's next occurrence, today included: a hotel's own fixed festival, or from the calendar."""
        if name in self._fixed:
            month, day = self._fixed[name]
            return _month_day(today, month, day)
        return next_holiday(self._codes[name], today)
