"""Facts a booking or a request needs: stay dates, party size, rooms, room number, time, phone, reference.

Works on the canonical text (NFKC, lower case, Simplified) with precompiled regexes. Each family of
patterns is guarded by a cheap pre-check so a message without digits or date words costs almost nothing.
Dates are found by `nlp.dates` and given their check-in / check-out roles by `nlp.stay`; this module
runs them in the right order (a phone number is masked before anything reads its digits as a date).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from nlp.dates import DateFinder
from nlp.numbers import CN_NUM, EN_NUM, cn_int
from nlp.stay import assign_stay, stay_nights

_DIGIT = re.compile(r"\d")
_LATIN = re.compile(r"[a-z]")
_COUNT_HINT_CN = re.compile(r"[晚夜宿天日人位口间客大小]|星期|周|礼拜")
_COUNT_HINT_EN = re.compile(r"night|day|week|people|person|guest|adult|pax|ppl|party|table|group|kid|child"
                            r"|infant|bab|room"
                            r"|of us|individual|travel|member|family")

# --- party, rooms ----------------------------------------------------------------------------------------
_GUESTS_CN = re.compile(
    rf"(?<![同每])({CN_NUM})\s*(?:个|位|名)?\s*(?:人|客人|大人|成人|住客|同事|朋友)(?!民|员|工|家|中|之中|当中|里|份)"
    rf"|({CN_NUM})\s*位(?![置于数子])")
_GUESTS_CN_FAMILY = re.compile(rf"一家\s*({CN_NUM})\s*口")
_GUESTS_CN_MIX = re.compile(rf"({CN_NUM})\s*(?:个|位)?\s*大人?\s*(?:和|加|带|\+)?\s*({CN_NUM})\s*(?:个|位)?\s*(?:小孩|孩子|儿童|小朋友|小)")
_GUESTS_EN = re.compile(rf"\b({EN_NUM})\s+(?:people|persons|person|guests?|adults?|pax|of us|ppl|individuals?"
                        r"|travell?ers?|members?|family members)\b")
_GUESTS_EN_MIX = re.compile(rf"\b({EN_NUM})\s+adults?\s*(?:and|&|\+|,)?\s*({EN_NUM})\s+(?:kids?|child|children|infants?|babies|baby)\b")
# "a party of 4", "table for two", "six in my party", "we are a family of five", "there will be 3 of us"
_GUESTS_EN_PARTY = re.compile(rf"\b(?:party of|table for|group of|family of)\s+({EN_NUM})\b"
                              rf"|\b({EN_NUM})\s+(?:in|of) (?:my|our|the) (?:party|group|family)\b")
_CN_PARTY = (_GUESTS_CN_FAMILY, _GUESTS_CN)
_EN_PARTY = (_GUESTS_EN, _GUESTS_EN_PARTY)
_ROOMS_CN = re.compile(rf"({CN_NUM})\s*(?:个)?\s*(?:间|房间)(?!隔)")
_ROOMS_EN = re.compile(rf"\b({EN_NUM}|two|three)\s+(?:[a-z]+\s+)?rooms?\b")

# --- room number, time, phone, reference -----------------------------------------------------------------
_ROOMNO = re.compile(
    r"(?:房间号?|房号|房|room|rm|#|no\.?)\s*(?:号码|号|number|no\.?|#)?\s*[:：是为]?\s*(\d{3,5})(?![\d:元块%])"
    r"|(?<![\d\-+])(\d{3,5})\s*(?:号房间|号房|房间|房)(?![费价型])"
    r"|(?:我在|我住|住在|我是|送到|送去|到|在|in|to)\s*(\d{3,5})(?![\d:元块号月年%])"
    r"|^\s*(\d{3,5})(?=\s|[,，:：的]|[\u4e00-\u9fff])(?![\d]|\s*(?:元|块|号|月|年|点|人|间|晚|米|公里|分))"
)
# a room number in Chinese numerals: digit by digit (一二零八房) or as a number (房间三百二)
_CN_ROOM_DIGITS = r"[零〇幺一二三四五六七八九百千]{3,5}"
_CN_ROOM_HINT = re.compile(r"[零〇幺一二三四五六七八九百千]{3}")
_ROOMNO_CN = re.compile(rf"(?:房间号?|房号)\s*[:：是为]?\s*({_CN_ROOM_DIGITS})(?![号月年点块元])"
                        rf"|({_CN_ROOM_DIGITS})\s*(?:号房间|号房|房间|房)(?![费价型])")
_PERIOD = (r"(凌晨|半夜|早上|早晨|清晨|上午|中午|下午|傍晚|晚上|夜里|今晚|明晚|明早|明天早上|明天上午|明天下午|明天晚上|"
           r"今天早上|今天上午|今天下午|今天晚上|早|晚)")
_TIME_CN = re.compile(rf"{_PERIOD}?\s*({CN_NUM})\s*(?:点|:|：|时)(?:\s*(钟|半|一刻|三刻|({CN_NUM})\s*分?))?")
_TIME_COLON = re.compile(r"(?<![\d:])([01]?\d|2[0-3])[:：]([0-5]\d)(?![\d:])\s*(am|pm|a\.m\.|p\.m\.)?")
_TIME_EN = re.compile(r"\b(\d{1,2})(?:[.:](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)(?![a-z])|\b(\d{1,2})\s*o'?clock\b|\b(noon|midday|midnight)\b")
_TIME_EN_PERIOD = re.compile(r"\b(?:in the |this |tomorrow )(morning|afternoon|evening)\b|\btonight\b")
_PM_BEFORE = re.compile(r"(下午|晚上|傍晚|今晚|明晚|夜里)\s*$")
_QUARTERS = {"半": 30, "一刻": 15, "三刻": 45}
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


class EntityExtractor:
    """Regex-based extraction; stateless after construction, so safe to share between threads."""

    def __init__(self, holidays: Mapping[str, Any], day_first: bool = False) -> None:
        # Room types are not found here: their synonyms are lexicon terms, found by the analyser's
        # single pass over the tokens (cheaper than one more regex alternation per message).
        self._dates = DateFinder(holidays, day_first=day_first)

    def extract(self, text: str, today: date) -> dict[str, Any]:
        """All entities found in canonical `text`.

        Stay dates come twice: `check_in`/`check_out` from every date, and `check_in_explicit`/
        `check_out_explicit` from dates next to a check-in/check-out cue only, with `_implicit_dates`
        set when they differ (see `nlp.stay`).
        """
        out: dict[str, Any] = {}
        has_digit = _DIGIT.search(text) is not None
        has_latin = _LATIN.search(text) is not None
        has_cjk = not text.isascii()
        work = text
        if has_digit:
            work = _phone_and_ref(work, out)
        dates = self._dates.find(work, today, has_digit, has_latin, has_cjk)
        if dates:
            assign_stay(work, dates, out)
        _counts(work, out, has_latin, has_cjk)
        if has_digit or has_cjk:
            _room_number(work, out, has_digit)
        _time(work, out, has_digit, has_latin)
        return out


def _mask(text: str, start: int, end: int) -> str:
    """Blank a span out, keeping offsets, so later patterns cannot read a phone number as a room or date."""
    return text[:start] + " " * (end - start) + text[end:]


def _phone_and_ref(text: str, out: dict[str, Any]) -> str:
    """Phone and booking reference first: their digits would otherwise pass for dates and rooms."""
    match = _PHONE.search(text)
    if match:
        raw = match.group(0)
        out["phone"] = ("+" if raw.lstrip().startswith("+") else "") + re.sub(r"\D", "", raw)
        text = _mask(text, *match.span())
    match = _REF.search(text)
    if match:
        value = match.group(1) or match.group(2)
        if value and any(c.isdigit() for c in value) and not value.isdigit() or (value and value.isdigit() and len(value) >= 6 and match.group(1)):
            out["booking_ref"] = value.upper()
            text = _mask(text, *match.span())
    return text


def _counts(text: str, out: dict[str, Any], has_latin: bool, has_cjk: bool) -> None:
    """Nights, guests and rooms share one pre-check: all three need a counting word nearby."""
    if not ((has_cjk and _COUNT_HINT_CN.search(text)) or (has_latin and _COUNT_HINT_EN.search(text))):
        return
    nights = stay_nights(text, has_cjk, has_latin)
    if nights:
        out["nights"] = nights
    guests = _guests(text, has_latin, has_cjk)
    if guests:
        out["guests"] = guests
    m = (_ROOMS_CN.search(text) if has_cjk else None) or (_ROOMS_EN.search(text) if has_latin else None)
    if m and (value := cn_int(m.group(1))) and value < 100:
        out["rooms"] = value


def _guests(text: str, has_latin: bool, has_cjk: bool) -> int | None:
    """Party size; "两个大人一个小孩" adds up, and an implausible count (a price, a year) is none."""
    cn, en = (_CN_PARTY if has_cjk else ()), (_EN_PARTY if has_latin else ())
    m = (_GUESTS_CN_MIX.search(text) if has_cjk else None) or (_GUESTS_EN_MIX.search(text) if has_latin else None)
    if m:
        a, b = cn_int(m.group(1)), cn_int(m.group(2))
        return a + b if a and b else None
    m = next((found for pattern in (*cn, *en) if (found := pattern.search(text))), None)
    if m and (value := cn_int(next((g for g in m.groups() if g), ""))) and value < 200:
        if value == 1 and m.group(0).endswith(("朋友", "同事")):
            return None  # "我有一个朋友推荐…": a friend, not a party of one
        return value
    return None


def _room_number(text: str, out: dict[str, Any], has_digit: bool) -> None:
    m = _ROOMNO.search(text) if has_digit else None
    if m:
        out["room_number"] = next(g for g in m.groups() if g)
        return
    m = _ROOMNO_CN.search(text) if "房" in text and _CN_ROOM_HINT.search(text) else None
    if m and (value := cn_int(next(g for g in m.groups() if g))) and 100 <= value <= 99999:
        out["room_number"] = str(value)


def _time(text: str, out: dict[str, Any], has_digit: bool, has_latin: bool) -> None:
    """The first clock time: "21:30" wins over "9pm", which wins over "晚上九点"."""
    m = _TIME_COLON.search(text) if has_digit and (":" in text or "：" in text) else None
    if m:
        out["time"] = _colon_time(text, m)
        return
    m = _TIME_EN.search(text) if has_latin else None
    if m:
        value = _english_time(text, m)
    elif "点" in text or "时" in text:
        value = _chinese_time(text)
    else:
        return
    if value is not None:
        out["time"] = value


def _colon_time(text: str, m: re.Match[str]) -> str:
    """21:30 / 9:30pm / 晚上9:30."""
    hour, minute = int(m.group(1)), int(m.group(2))
    suffix = m.group(3)
    if suffix and suffix.startswith("p") and hour < 12:
        hour += 12
    elif suffix and suffix.startswith("a") and hour == 12:
        hour = 0
    elif _PM_BEFORE.search(text[max(0, m.start() - 6):m.start()]) and hour < 12:
        hour += 12
    return f"{hour:02d}:{minute:02d}"


def _english_time(text: str, m: re.Match[str]) -> str | None:
    """9pm / 9 o'clock this evening / noon; None for an hour that does not exist ("25pm")."""
    if m.group(5):
        return "00:00" if m.group(5) == "midnight" else "12:00"
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
        return f"{hour:02d}:{minute:02d}"
    return None


def _chinese_time(text: str) -> str | None:
    """The first 点/时 expression that is really a clock time."""
    for m in _TIME_CN.finditer(text):
        value = _chinese_clock(text, m)
        if value is not None:
            return value
    return None


def _chinese_clock(text: str, m: re.Match[str]) -> str | None:
    """下午三点半 → 15:30; None for what only looks like one ("一点" = a bit, "24小时" = a duration)."""
    period, number, extra, minutes = m.group(1), m.group(2), m.group(3), m.group(4)
    hour = cn_int(number)
    if hour is None or hour > 24:
        return None
    sep = text[m.end(2):m.end(2) + 2].strip()[:1]
    if sep == "时" and not period:
        return None  # "小时" / "24时" are durations or rare; require a period word
    if number in ("一", "1") and not period and not extra:
        return None  # "安静一点" / "快一点" mean "a bit", not one o'clock
    if hour == 0 and not period:
        return None
    if not period:
        pre = text[max(0, m.start() - 2):m.start()]
        if pre.endswith(("几", "差", "多", "早", "晚")) and number in ("一",):
            return None
    if extra in _QUARTERS:
        minute = _QUARTERS[extra]
    else:
        minute = (cn_int(minutes) or 0) if minutes else 0
    if minute >= 60:
        return None
    hour = _tod_hour(period, hour)
    if hour >= 24:
        return None
    return f"{hour:02d}:{minute:02d}"


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
