"""Facts a booking or a request needs: dates, stay length, party size, room, time, phone, reference.

Works on the canonical text (NFKC, lower case, Simplified) with precompiled regexes. Each family of
patterns is guarded by a cheap pre-check so a message without digits or date words costs almost nothing.
Relative dates resolve against the hotel's local date, never the server's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

_CN_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
             "八": 8, "九": 9}
_EN_NUM = {"a": 1, "an": 1, "one": 1, "single": 1, "two": 2, "couple": 2, "a couple of": 2, "three": 3, "four": 4,
           "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
           "fourteen": 14, "fifteen": 15, "twenty": 20}

CN_NUM = r"(?:\d{1,3}|[零〇一二两俩三四五六七八九十百]{1,4})"
EN_NUM = r"(?:\d{1,3}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fourteen|fifteen|twenty)"


def cn_int(text: str) -> int | None:
    """'24' / '二十四' / '两' / '十' / '一百二十' → int; None if it is not a number we understand."""
    if not text:
        return None
    if text.isdigit():
        return int(text)
    if text in _EN_NUM:
        return _EN_NUM[text]
    total, current = 0, 0
    for char in text:
        if char in _CN_DIGIT:
            current = _CN_DIGIT[char]
        elif char == "十":
            total += (current or 1) * 10
            current = 0
        elif char == "百":
            total += (current or 1) * 100
            current = 0
        else:
            return None
    return total + current


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

# --- dates -------------------------------------------------------------------------------------------
_D_ISO = re.compile(r"(?<!\d)(20\d\d)\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?")
_D_CN_MD = re.compile(rf"(?<![\d十])({CN_NUM})\s*月\s*({CN_NUM})\s*[日号]?(?:\s*[-~到至]\s*({CN_NUM})\s*[日号])?")
_D_CN_DAY = re.compile(rf"(?<![\d月])({CN_NUM})\s*号(?![房楼线门床位桌])")
_D_CN_REL = re.compile(r"大后天|后天|后晚|明天|明晚|明日|明早|明儿|明夜|今天|今晚|今日|今夜|今儿|当天")
_D_CN_WEEK = re.compile(r"(下下|下个?|这个?|本)?\s*(?:周|星期|礼拜)\s*([一二三四五六日天末1-7])")
_D_EN_REL = re.compile(r"\b(?:the )?day after (?:tomorrow|tmr|tmrw)\b|\b(?:today|tonight|tomorrow|tmrw?|tomorow|tommorr?ow|2morrow)\b")
_D_EN_WEEK = re.compile(r"\b(next|this|coming)?\s*(monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekend|mon|tues?|wed|thur?s?|fri|sat|sun)\b(?!\s*\d)")
_D_EN_MD = re.compile(rf"\b{_MONTH_RE}\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:\s*(?:-|–|to|till|until|through)\s*(\d{{1,2}})(?:st|nd|rd|th)?\b(?!\s*(?:am|pm|:|night|people|guest)))?")
_D_EN_DM = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s*(?:-\s*(\d{{1,2}})(?:st|nd|rd|th)?\s*)?(?:of\s+)?{_MONTH_RE}\b")
_D_EN_ORD = re.compile(r"\bthe (\d{1,2})(?:st|nd|rd|th)\b")
# "下个月10号", "本月20日", "the 10th of next month", "next month on the 3rd": a day in a month named by
# its distance from now (the plain 月…号 pattern needs a month number, and 号 after 月 is not a bare day)
_D_CN_REL_MONTH = re.compile(rf"(下下个?月|下个?月|这个?月|本月|当月)\s*({CN_NUM})\s*[号日]")
_D_EN_REL_MONTH = re.compile(r"\b(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?(next|this)\s+month\b"
                             r"|\b(next|this)\s+month\s+(?:on\s+)?(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)?\b")
_D_NUMERIC = re.compile(r"(?<![\d/.:])(\d{1,2})/(\d{1,2})(?![\d/])")

_DIGIT = re.compile(r"\d")
_LATIN = re.compile(r"[a-z]")
_MONTH_HINT = re.compile(r"jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec")
_REL_HINT = re.compile(r"[今明后当]|to(?:day|night|m)|tmr|morrow|mon|tue|wed|thu|fri|sat|sun|weekend")
_COUNT_HINT_CN = re.compile(r"[晚夜宿天人位口间客大小]|星期|周|礼拜")
_COUNT_HINT_EN = re.compile(r"night|week|people|person|guest|adult|pax|ppl|party|table|group|kid|child|infant|bab|room|of us")
_CLAUSE_SPLIT = re.compile(r"[,，。.!！?？;；\n]")
_OUT_CUE = re.compile(r"退房|离店|离开|走人|(?<![a-z])走|check\s?out|checkout|checking out|leav|depart")
_RANGE_BEFORE = re.compile(r"(?:到|至|-|~|–|until|till|til|to|through|thru)\s*(?:the\s*)?$")
_IN_NEAR = re.compile(r"入住|到店|抵达|check\s?in|checking in|arriv")

# --- stay, party, rooms --------------------------------------------------------------------------------
_NIGHTS_CN = re.compile(rf"({CN_NUM})\s*(?:个)?\s*(?:晚上|晚|夜|宿)(?!餐|饭|点)")
_NIGHTS_CN_DAYS = re.compile(rf"(?:住|待|呆|续|多住|延住)\s*({CN_NUM})\s*(?:天|日)")
_NIGHTS_CN_WEEK = re.compile(r"(?:住|待|呆)\s*(?:一|1)\s*(?:个)?\s*(?:星期|周|礼拜)")
_NIGHTS_EN = re.compile(rf"\b({EN_NUM}|a couple of|a)\s*(?:-\s*)?(?:more\s+|extra\s+|additional\s+)?nights?\b")
_NIGHTS_EN_WEEK = re.compile(r"\bfor (?:a|one) week\b")
_GUESTS_CN = re.compile(rf"({CN_NUM})\s*(?:个|位|名)?\s*(?:人|客人|大人|成人|住客|同事|朋友)(?!民|员|工|家)|({CN_NUM})\s*位(?![置于数子])")
_GUESTS_CN_FAMILY = re.compile(rf"一家\s*({CN_NUM})\s*口")
_GUESTS_CN_MIX = re.compile(rf"({CN_NUM})\s*(?:个|位)?\s*大人?\s*(?:和|加|带|\+)?\s*({CN_NUM})\s*(?:个|位)?\s*(?:小孩|孩子|儿童|小朋友|小)")
_GUESTS_EN = re.compile(rf"\b({EN_NUM})\s+(?:people|persons|person|guests?|adults?|pax|of us|ppl)\b")
_GUESTS_EN_MIX = re.compile(rf"\b({EN_NUM})\s+adults?\s*(?:and|&|\+|,)?\s*({EN_NUM})\s+(?:kids?|child|children|infants?|babies|baby)\b")
_GUESTS_EN_PARTY = re.compile(rf"\b(?:party of|table for|group of)\s+({EN_NUM})\b")
_ROOMS_CN = re.compile(rf"({CN_NUM})\s*(?:个)?\s*(?:间|房间)(?!隔)")
_ROOMS_EN = re.compile(rf"\b({EN_NUM}|two|three)\s+(?:[a-z]+\s+)?rooms?\b")

# --- room number, time, phone, reference -----------------------------------------------------------------
_ROOMNO = re.compile(
    r"(?:房间号?|房号|房|room|rm|#|no\.?)\s*(?:号码|号|number|no\.?|#)?\s*[:：是为]?\s*(\d{3,5})(?![\d:元块%])"
    r"|(?<![\d\-+])(\d{3,5})\s*(?:号房间|号房|房间|房)(?![费价型])"
    r"|(?:我在|我住|住在|我是|送到|送去|到|在|in|to)\s*(\d{3,5})(?![\d:元块号月年%])"
    r"|^\s*(\d{3,5})(?=\s|[,，:：的]|[\u4e00-\u9fff])(?![\d]|\s*(?:元|块|号|月|年|点|人|间|晚|米|公里|分))"
)
_PERIOD = (r"(凌晨|半夜|早上|早晨|清晨|上午|中午|下午|傍晚|晚上|夜里|今晚|明晚|明早|明天早上|明天上午|明天下午|明天晚上|"
           r"今天早上|今天上午|今天下午|今天晚上|早|晚)")
_TIME_CN = re.compile(rf"{_PERIOD}?\s*({CN_NUM})\s*(?:点|:|：|时)(?:\s*(钟|半|一刻|三刻|({CN_NUM})\s*分?))?")
_TIME_COLON = re.compile(r"(?<![\d:])([01]?\d|2[0-3])[:：]([0-5]\d)(?![\d:])\s*(am|pm|a\.m\.|p\.m\.)?")
_TIME_EN = re.compile(r"\b(\d{1,2})(?:[.:](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)(?![a-z])|\b(\d{1,2})\s*o'?clock\b|\b(noon|midday|midnight)\b")
_TIME_EN_PERIOD = re.compile(r"\b(?:in the |this |tomorrow )(morning|afternoon|evening)\b|\btonight\b")
_PHONE = re.compile(
    r"(?<![\d])(\+?\s?86[\s-]?)?(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?!\d)"
    r"|(?<![\d])(\+\d{1,3})[\s-]?(\(?\d{1,4}\)?)[\s-]?(\d{3,4})[\s-]?(\d{3,4})(?!\d)"
    r"|(?<![\d])(0\d{2,3})-(\d{7,8})(?!\d)"
)
_REF = re.compile(
    r"(?:订单号?|预订号|预定号|预订编号|订单编号|确认号|确认码|单号|编号|booking\s*(?:ref(?:erence)?|number|no\.?|id|code|#)"
    r"|reservation\s*(?:number|no\.?|id|code|#|ref)|confirmation\s*(?:number|no\.?|code|#)?|ref(?:erence)?\s*(?:number|no\.?|#)?)"
    r"\s*(?:is|是|为)?\s*[:：#]?\s*([a-z0-9][a-z0-9-]{3,19})(?![a-z0-9-])"
    r"|(?<![a-z0-9])([a-z]{2,3}-?\d{5,10})(?![a-z0-9])"
)


def _tod_hour(period: str | None, hour: int) -> int:
    """Apply a Chinese time-of-day word to a 12-hour clock value."""
    if not period:
        return hour % 24
    if period in ("下午", "傍晚", "晚上", "夜里", "今晚", "明晚", "晚") or period.endswith(("下午", "晚上")):
        if hour == 12:
            return 0 if period not in ("下午",) else 12
        return hour + 12 if hour < 12 else hour % 24
    if period == "中午":
        return hour + 12 if hour < 6 else hour
    if period in ("凌晨", "半夜"):
        return 0 if hour == 12 else hour
    return hour % 24


def _valid(year: int, month: int, day: int) -> date | None:
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
    """'20号' / 'the 20th': in the anchor's (or this) month, rolling forward if already past."""
    if not day or day > 31:
        return None
    base = anchor or today
    found = _valid(base.year, base.month, day)
    if found is not None and found >= base:
        return found
    month, year = (base.month % 12) + 1, base.year + (1 if base.month == 12 else 0)
    return _valid(year, month, day)


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


class EntityExtractor:
    """Regex-based extraction; stateless after construction, so safe to share between threads."""

    def __init__(self, holidays: Mapping[str, Any]) -> None:
        # Room types are not found here: their synonyms are lexicon terms, found by the analyser's
        # single pass over the tokens (cheaper than one more regex alternation per message).
        fixed = holidays.get("fixed") or {}
        lunar = holidays.get("by_year") or {}
        self._fixed = {str(k).lower(): tuple(int(x) for x in str(v).split("-")) for k, v in fixed.items()}
        self._by_year: dict[str, list[date]] = {}
        for name, years in lunar.items():
            self._by_year[str(name).lower()] = sorted(date.fromisoformat(str(v)) for v in years.values())
        names = sorted([*self._fixed, *self._by_year], key=len, reverse=True)
        self._holiday_re = re.compile("|".join(re.escape(n) for n in names)) if names else None

    # -- public -------------------------------------------------------------------------------------
    def extract(self, text: str, today: date) -> dict[str, Any]:
        """All entities found in canonical `text`.

        Stay dates come twice: `check_in`/`check_out` from every date, and `check_in_explicit`/
        `check_out_explicit` from dates next to a check-in/check-out cue only, with `_implicit_dates`
        set when they differ. `select_dates` keeps the right pair once the category is known: a date in
        "wake me at 7 tomorrow" is not a stay, one in "明晚还有房吗" is.
        """
        out: dict[str, Any] = {}
        has_digit = _DIGIT.search(text) is not None
        has_latin = _LATIN.search(text) is not None
        has_cjk = not text.isascii()
        work = text
        if has_digit:
            work = self._phone_and_ref(work, out)
        self._dates(work, today, out, has_digit, has_latin, has_cjk)
        self._counts(work, out, has_latin, has_cjk)
        if has_digit:
            self._room_number(work, out)
        self._time(work, out, has_digit, has_latin)
        return out

    # -- pieces -------------------------------------------------------------------------------------
    @staticmethod
    def _mask(text: str, start: int, end: int) -> str:
        return text[:start] + " " * (end - start) + text[end:]

    def _phone_and_ref(self, text: str, out: dict[str, Any]) -> str:
        match = _PHONE.search(text)
        if match:
            raw = match.group(0)
            out["phone"] = ("+" if raw.lstrip().startswith("+") else "") + re.sub(r"\D", "", raw)
            text = self._mask(text, *match.span())
        match = _REF.search(text)
        if match:
            value = match.group(1) or match.group(2)
            if value and any(c.isdigit() for c in value) and not value.isdigit() or (value and value.isdigit() and len(value) >= 6 and match.group(1)):
                out["booking_ref"] = value.upper()
                text = self._mask(text, *match.span())
        return text

    def _dates(self, text: str, today: date, out: dict[str, Any], has_digit: bool, has_latin: bool,
               has_cjk: bool) -> None:
        """Each family of date patterns runs only when a cheap substring test says it could match."""
        numeric = has_digit or (has_cjk and ("月" in text or "号" in text))
        month_names = has_latin and _MONTH_HINT.search(text) is not None
        cn_week = has_cjk and ("周" in text or "星期" in text or "礼拜" in text)
        holiday = self._holiday_re is not None and (has_cjk or has_latin)
        if not (numeric or month_names or cn_week or holiday or _REL_HINT.search(text)):
            return
        found: list[tuple[int, int, date]] = []

        def add(start: int, end: int, value: date | None) -> None:
            if value is not None:
                found.append((start, end, value))

        for m in _D_ISO.finditer(text) if has_digit else ():
            add(m.start(), m.end(), _valid(int(m.group(1)), int(m.group(2)), int(m.group(3))))
        for m in _D_CN_MD.finditer(text) if numeric and has_cjk and "月" in text else ():
            first = _month_day(today, cn_int(m.group(1)), cn_int(m.group(2)))
            add(m.start(), m.end(2) + 1, first)
            if m.group(3) and first is not None:
                add(m.start(3), m.end(), _day_only(first, cn_int(m.group(3)), first))
        for m in _D_EN_MD.finditer(text) if month_names else ():
            first = _month_day(today, _MONTHS.get(m.group(1)), int(m.group(2)))
            add(m.start(), m.end(2), first)
            if m.group(3) and first is not None:
                add(m.start(3), m.end(), _day_only(first, int(m.group(3)), first))
        for m in _D_EN_DM.finditer(text) if month_names else ():
            month = _MONTHS.get(m.group(3))
            if m.group(2):
                first = _month_day(today, month, int(m.group(1)))
                add(m.start(), m.start() + len(m.group(1)), first)
                if first is not None:
                    add(m.start(2), m.end(), _day_only(first, int(m.group(2)), first))
            else:
                add(m.start(), m.end(), _month_day(today, month, int(m.group(1))))
        for m in _D_NUMERIC.finditer(text) if has_digit and "/" in text else ():
            a, b = int(m.group(1)), int(m.group(2))
            month, day = (a, b) if a <= 12 else (b, a)
            add(m.start(), m.end(), _month_day(today, month, day))
        for m in _D_CN_REL_MONTH.finditer(text) if has_cjk and "月" in text else ():
            ahead = 2 if m.group(1).startswith("下下") else 1 if m.group(1).startswith("下") else 0
            add(m.start(), m.end(), _in_month(today, ahead, cn_int(m.group(2))))
        for m in _D_EN_REL_MONTH.finditer(text) if has_latin and has_digit and "month" in text else ():
            word, day = (m.group(2), m.group(1)) if m.group(1) else (m.group(3), m.group(4))
            add(m.start(), m.end(), _in_month(today, 1 if word == "next" else 0, int(day)))
        for m in _D_CN_REL.finditer(text) if has_cjk else ():
            add(m.start(), m.end(), today + timedelta(days=_RELATIVE[m.group(0)]))
        for m in _D_EN_REL.finditer(text) if has_latin else ():
            word = m.group(0)
            days = 2 if "after" in word else _RELATIVE.get(word, 1)
            add(m.start(), m.end(), today + timedelta(days=days))
        for m in _D_CN_WEEK.finditer(text) if cn_week else ():
            add(m.start(), m.end(), _weekday(today, _CN_WEEKDAYS[m.group(2)], (m.group(1) or "").strip() or None))
        for m in _D_EN_WEEK.finditer(text) if has_latin else ():
            add(m.start(), m.end(), _weekday(today, _EN_WEEKDAYS[m.group(2)], m.group(1) if m.group(1) != "coming" else None))
        if holiday and self._holiday_re is not None:
            for m in self._holiday_re.finditer(text):
                add(m.start(), m.end(), self._holiday(m.group(0), today))
        # bare days ("24号到26号", "the 20th") anchor on the previous date in the message
        spans = sorted(found)
        for m in _D_CN_DAY.finditer(text) if has_cjk and "号" in text else ():
            if any(s <= m.start() < e for s, e, _ in spans):
                continue
            anchor = max((d for s, e, d in spans if e <= m.start()), default=None)
            add(m.start(), m.end(), _day_only(today, cn_int(m.group(1)), anchor))
        for m in _D_EN_ORD.finditer(text) if has_latin and has_digit else ():
            if any(s <= m.start() < e for s, e, _ in spans):
                continue
            anchor = max((d for s, e, d in spans if e <= m.start()), default=None)
            add(m.start(), m.end(), _day_only(today, int(m.group(1)), anchor))
        if not found:
            return
        # keep the longest match where matches overlap, then read them left to right
        found.sort(key=lambda item: (item[0], -(item[1] - item[0])))
        dates: list[tuple[int, int, date]] = []
        last_end = -1
        for start, end, value in found:
            if start >= last_end:
                dates.append((start, end, value))
                last_end = end
        roles: list[tuple[bool, bool, date]] = []  # (is_out, explicit, date)
        for index, (start, end, value) in enumerate(dates):
            # the words around a date, up to the neighbouring dates and within its clause
            prev_end = dates[index - 1][1] if index else 0
            next_start = dates[index + 1][0] if index + 1 < len(dates) else len(text)
            before = _CLAUSE_SPLIT.split(text[max(prev_end, start - 16):start])[-1]
            after = _CLAUSE_SPLIT.split(text[end:min(next_start, end + 12)])[0]
            is_out = bool(_OUT_CUE.search(after) or _OUT_CUE.search(before)) or (
                bool(roles) and _RANGE_BEFORE.search(before) is not None)
            explicit = is_out or bool(_IN_NEAR.search(before) or _IN_NEAR.search(after))
            roles.append((is_out, explicit, value))
        for key, only_explicit in (("", False), ("_explicit", True)):
            check_in: date | None = None
            check_out: date | None = None
            for is_out, explicit, value in roles:
                if only_explicit and not explicit:
                    continue
                if is_out and check_out is None:
                    check_out = value
                elif check_in is None:
                    check_in = value
                elif check_out is None and value > check_in:
                    check_out = value
            if check_in is not None:
                out["check_in" + key] = check_in
            if check_out is not None:
                out["check_out" + key] = check_out
        if not all(explicit for _, explicit, _ in roles):
            out["_implicit_dates"] = True

    def _holiday(self, name: str, today: date) -> date | None:
        if name in self._fixed:
            month, day = self._fixed[name]
            return _month_day(today, month, day)
        for value in self._by_year.get(name, ()):
            if value >= today:
                return value
        return None

    @staticmethod
    def _counts(text: str, out: dict[str, Any], has_latin: bool, has_cjk: bool) -> None:
        if not ((has_cjk and _COUNT_HINT_CN.search(text)) or (has_latin and _COUNT_HINT_EN.search(text))):
            return
        m = _NIGHTS_CN.search(text) if has_cjk else None
        if m:
            value = cn_int(m.group(1))
            if value:
                out["nights"] = value
        else:
            m = _NIGHTS_CN_DAYS.search(text)
            if m and (value := cn_int(m.group(1))):
                out["nights"] = value
            elif _NIGHTS_CN_WEEK.search(text) or _NIGHTS_EN_WEEK.search(text):
                out["nights"] = 7
            else:
                m = _NIGHTS_EN.search(text)
                if m and (value := cn_int(m.group(1))):
                    out["nights"] = value
        m = _GUESTS_CN_MIX.search(text) or _GUESTS_EN_MIX.search(text)
        if m:
            a, b = cn_int(m.group(1)), cn_int(m.group(2))
            if a and b:
                out["guests"] = a + b
        else:
            m = _GUESTS_CN_FAMILY.search(text) or _GUESTS_CN.search(text) or _GUESTS_EN.search(text) or _GUESTS_EN_PARTY.search(text)
            if m and (value := cn_int(next((g for g in m.groups() if g), ""))) and value < 200:
                out["guests"] = value
        m = _ROOMS_CN.search(text) or _ROOMS_EN.search(text)
        if m and (value := cn_int(m.group(1))) and value < 100:
            out["rooms"] = value

    @staticmethod
    def _room_number(text: str, out: dict[str, Any]) -> None:
        m = _ROOMNO.search(text)
        if m:
            out["room_number"] = next(g for g in m.groups() if g)

    @staticmethod
    def _time(text: str, out: dict[str, Any], has_digit: bool, has_latin: bool) -> None:
        m = _TIME_COLON.search(text) if has_digit and (":" in text or "：" in text) else None
        if m:
            hour, minute = int(m.group(1)), int(m.group(2))
            suffix = m.group(3)
            if suffix and suffix.startswith("p") and hour < 12:
                hour += 12
            elif suffix and suffix.startswith("a") and hour == 12:
                hour = 0
            else:
                before = text[max(0, m.start() - 6):m.start()]
                pm = re.search(r"(下午|晚上|傍晚|今晚|明晚|夜里)\s*$", before)
                if pm and hour < 12:
                    hour += 12
            out["time"] = f"{hour:02d}:{minute:02d}"
            return
        m = _TIME_EN.search(text) if has_latin else None
        if m:
            if m.group(5):
                out["time"] = "00:00" if m.group(5) == "midnight" else "12:00"
                return
            hour = int(m.group(1) or m.group(4))
            minute = int(m.group(2) or 0)
            suffix = m.group(3)
            if suffix:
                if suffix.startswith("p") and hour < 12:
                    hour += 12
                elif suffix.startswith("a") and hour == 12:
                    hour = 0
            elif hour < 12:
                after = text[m.end():m.end() + 20]
                if _TIME_EN_PERIOD.search(after) and any(w in after for w in ("afternoon", "evening", "tonight")):
                    hour += 12
            if hour < 24 and minute < 60:
                out["time"] = f"{hour:02d}:{minute:02d}"
            return
        if "点" not in text and "时" not in text:
            return
        for m in _TIME_CN.finditer(text):
            period, number, extra, minutes = m.group(1), m.group(2), m.group(3), m.group(4)
            hour = cn_int(number)
            if hour is None or hour > 24:
                continue
            sep = text[m.end(2):m.end(2) + 2].strip()[:1]
            if sep == "时" and not period:
                continue  # "小时" / "24时" are durations or rare; require a period word
            if number in ("一", "1") and not period and not extra:
                continue  # "安静一点" / "快一点" mean "a bit", not one o'clock
            if hour == 0 and not period:
                continue
            if not period:
                pre = text[max(0, m.start() - 2):m.start()]
                if pre.endswith(("几", "差", "多", "早", "晚")) and number in ("一",):
                    continue
            minute = 0
            if extra == "半":
                minute = 30
            elif extra == "一刻":
                minute = 15
            elif extra == "三刻":
                minute = 45
            elif minutes:
                minute = cn_int(minutes) or 0
            if minute >= 60:
                continue
            hour = _tod_hour(period, hour)
            if hour >= 24:
                continue
            out["time"] = f"{hour:02d}:{minute:02d}"
            return


def select_dates(entities: dict[str, Any], booking_context: bool) -> dict[str, Any]:
    """Keep all stay dates in a booking conversation, only explicitly cued ones elsewhere."""
    entities.pop("_implicit_dates", None)
    explicit_in = entities.pop("check_in_explicit", None)
    explicit_out = entities.pop("check_out_explicit", None)
    if not booking_context:
        entities.pop("check_in", None)
        entities.pop("check_out", None)
        if explicit_in is not None:
            entities["check_in"] = explicit_in
        if explicit_out is not None:
            entities["check_out"] = explicit_out
    return entities


def finish_dates(entities: dict[str, Any]) -> dict[str, Any]:
    """Derive check-out from check-in + nights (and the other ways round); format dates as ISO."""
    check_in: date | None = entities.get("check_in")
    check_out: date | None = entities.get("check_out")
    nights: int | None = entities.get("nights")
    if check_in and check_out and check_out <= check_in:
        check_out = None
        entities.pop("check_out", None)
    if check_in and nights and not check_out:
        check_out = check_in + timedelta(days=nights)
    elif check_out and nights and not check_in:
        check_in = check_out - timedelta(days=nights)
    elif check_in and check_out and not nights:
        entities["nights"] = (check_out - check_in).days
    if check_in:
        entities["check_in"] = check_in.isoformat()
    if check_out:
        entities["check_out"] = check_out.isoformat()
    return entities
