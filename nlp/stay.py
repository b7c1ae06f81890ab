"""The stay a message describes: which of its dates is the check-in, which the check-out, and how many
nights.

A date alone does not say its role: "24号到26号" is a range, "26号退房" is a check-out, and the date in
"wake me at 7 tomorrow" is no stay at all. Roles come from the words next to each date; whether stay
dates count at all is decided later, once the category is known (`select_dates`), and the missing
third of check-in / check-out / nights is derived last (`finish_dates`).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from nlp.dates import Span
from nlp.numbers import CN_NUM, EN_NUM, cn_int

_CLAUSE_SPLIT = re.compile(r"[,，。.!！?？;；\n]")
_OUT_CUE = re.compile(r"退房|离店|离开|走人|(?<![a-z])走|check\s?out|checkout|checking out|leav|depart")
_RANGE_BEFORE = re.compile(r"(?:到|至|-|~|–|until|till|til|to|through|thru)\s*(?:the\s*)?$")
_IN_NEAR = re.compile(r"入住|到店|抵达|check\s?in|checking in|arriv")

_NIGHTS_CN = re.compile(rf"({CN_NUM})\s*(?:个)?\s*(?:晚上|晚|夜|宿)(?!餐|饭|点)")
_NIGHTS_CN_DAYS = re.compile(rf"(?:住|待|呆|续|多住|延住)\s*({CN_NUM})\s*(?:天|日)")
_NIGHTS_CN_WEEK = re.compile(r"(?:住|待|呆)\s*(?:一|1)\s*(?:个)?\s*(?:星期|周|礼拜)")
_NIGHTS_EN = re.compile(rf"\b({EN_NUM}|a couple of|a)\s*(?:-\s*)?(?:more\s+|extra\s+|additional\s+)?nights?\b")
_NIGHTS_EN_WEEK = re.compile(r"\bfor (?:a|one) week\b")

Role = tuple[bool, bool, date]  # (is a check-out, next to a check-in/check-out cue, the date)


def stay_nights(text: str, has_cjk: bool) -> int | None:
    """两晚 / 住三天 / 住一周 / two nights: the length of the stay, when the message gives one."""
    m = _NIGHTS_CN.search(text) if has_cjk else None
    if m:
        return cn_int(m.group(1)) or None  # "零晚" is no stay length, and no other pattern is tried
    m = _NIGHTS_CN_DAYS.search(text)
    if m and (value := cn_int(m.group(1))):
        return value
    if _NIGHTS_CN_WEEK.search(text) or _NIGHTS_EN_WEEK.search(text):
        return 7
    m = _NIGHTS_EN.search(text)
    if m and (value := cn_int(m.group(1))):
        return value
    return None


def assign_stay(text: str, dates: list[Span], out: dict[str, Any]) -> None:
    """Set check-in/check-out twice: from every date, and (`*_explicit`) from cued dates only.

    `_implicit_dates` marks that the two differ, so `select_dates` can keep the right pair once the
    category is known: a date in "wake me at 7 tomorrow" is not a stay, one in "明晚还有房吗" is.
    """
    roles = _roles(text, dates)
    for suffix, only_explicit in (("", False), ("_explicit", True)):
        check_in, check_out = _pick(roles, only_explicit)
        if check_in is not None:
            out["check_in" + suffix] = check_in
        if check_out is not None:
            out["check_out" + suffix] = check_out
    if not all(explicit for _, explicit, _ in roles):
        out["_implicit_dates"] = True


def _roles(text: str, dates: list[Span]) -> list[Role]:
    """Read the words around each date, up to the neighbouring dates and within its clause: 退房 or a
    range word before it (到26号) makes it a check-out; 入住 / 退房 nearby make it explicit."""
    roles: list[Role] = []
    for index, (start, end, value) in enumerate(dates):
        prev_end = dates[index - 1][1] if index else 0
        next_start = dates[index + 1][0] if index + 1 < len(dates) else len(text)
        before = _CLAUSE_SPLIT.split(text[max(prev_end, start - 16):start])[-1]
        after = _CLAUSE_SPLIT.split(text[end:min(next_start, end + 12)])[0]
        is_out = bool(_OUT_CUE.search(after) or _OUT_CUE.search(before)) or (
            bool(roles) and _RANGE_BEFORE.search(before) is not None)
        explicit = is_out or bool(_IN_NEAR.search(before) or _IN_NEAR.search(after))
        roles.append((is_out, explicit, value))
    return roles


def _pick(roles: list[Role], only_explicit: bool) -> tuple[date | None, date | None]:
    """First check-out-cued date is the check-out, first other date the check-in; a later date after
    the check-in closes the stay when nothing said check-out."""
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
    return check_in, check_out


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
