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

_CLAUSE_SPLIT = re.compile(r"[,，。.!！?？;；\n]|\band\b|\bbut\b|然后|并且")
# a cue of the stay's end, or its start; the nearest one before a date decides, else the first one after it
_CUE = re.compile(
    r"(?P<out>退房|离店|离开|走人|(?<![a-z])走|check\s?-?\s?out|checkout|checking out|leav|depart|head(?:ing)? out"
    r"|\bout (?:on|by)\b|until|untill|\btill?\b|through|thru|\bending\b)"
    r"|(?P<in>入住|到店|抵达|到达|check\s?-?\s?in|checking in|arriv|\bfrom\b|\bstart|\bbegin|开始|从)")
# range words right before a later date: "24号到26号", "the 24th to the 26th", "住到26号"
_RANGE_BEFORE = re.compile(r"(?:到|至|-|~|–|until|till|til|to|through|thru)\s*(?:the\s*)?$")
_STAY_TO = re.compile(r"[住待呆]\s*(?:到|至)\s*$")
_BEFORE, _AFTER = 36, 24  # characters of context read before and after a date, within its clause

_NIGHTS_CN = re.compile(rf"({CN_NUM})\s*(?:个)?\s*(?:晚上|晚|夜|宿)(?!餐|饭|点)")
# a stay worded in days: "住三天", "预订4天", "4天", "住3日" — not "三天后", "提前两天", "这两天", "第二天", "每天", nor
# "3日" alone, which is the 3rd of a month
_NIGHTS_CN_DAYS = re.compile(rf"(?<![第每这那前后隔过提月])({CN_NUM})\s*(?:个)?\s*天"
                             r"(?!前|后|内|以内|之内|之后|以后|之前|以前|左右|早|晚)"
                             rf"|(?:住|待|呆|续|多住|延住)\s*({CN_NUM})\s*日")
_NIGHTS_CN_WEEK = re.compile(rf"(?:住|待|呆|订|预订|预定)\s*({CN_NUM})\s*(?:个)?\s*(?:星期|周|礼拜)"
                             r"(?!一|二|三|四|五|六|日|天|末)")
_NIGHTS_EN = re.compile(rf"\b({EN_NUM}|a couple of|a)\s*(?:-\s*)?(?:more\s+|extra\s+|additional\s+)?nights?\b(?!'s)")
# "for six days", "a 3-day stay", "staying 4 days": not "in 3 days", "3 days ago / before / later"
_NIGHTS_EN_DAYS = re.compile(rf"(?<!\bin )(?<!\bwithin )(?<!\bevery )\b({EN_NUM}|a couple of)\s*(?:-\s*)?"
                             r"(?:more\s+|extra\s+|additional\s+|full\s+)?days?\b"
                             r"(?!\s*(?:ago|before|after|earlier|later|from now|prior|notice|in advance|early|late"
                             r"|beforehand))")
_NIGHTS_EN_WEEK = re.compile(rf"\bfor (?:a|one|({EN_NUM})) weeks?\b")
# "a night" / "一晚" next to a price is a rate ("how much a night", "一晚多少钱"), not a stay of one night
_PRICE = re.compile(r"多少|价|钱|元|块|美元|少于|便宜|贵|cost|price|rate|how much|charge|\brun\b|\$|per\b|fee|cheap|expensive")

Role = tuple[bool, bool, date]  # (is a check-out, next to a check-in/check-out cue, the date)


def stay_nights(text: str, has_cjk: bool, has_latin: bool = True) -> int | None:
    """两晚 / 住三天 / 住一周 / two nights / six days: the length of the stay, when the message gives one.

    Nights win over days ("四天三晚" is three nights). A stay worded in days is that many nights: the
    public dialogue corpora label "for six days" as the stay length, and guests mean the nights they book.
    """
    # each pattern only where its unit word occurs: most messages name no stay, and the scans are the cost
    if has_cjk:
        m = _NIGHTS_CN.search(text) if ("晚" in text or "夜" in text or "宿" in text) else None
        if m:
            return _unless_rate(text, m)
        m = _NIGHTS_CN_WEEK.search(text) if ("周" in text or "星期" in text or "礼拜" in text) else None
        if m and (weeks := cn_int(m.group(1))):
            return 7 * weeks
        m = _NIGHTS_CN_DAYS.search(text) if ("天" in text or "日" in text) else None
        if m and (value := _unless_rate(text, m)):
            return value
    if not has_latin:
        return None
    m = _NIGHTS_EN.search(text) if "night" in text else None
    if m:
        return _unless_rate(text, m)
    m = _NIGHTS_EN_WEEK.search(text) if "week" in text else None
    if m:
        return 7 * (cn_int(m.group(1)) if m.group(1) else 1)
    m = _NIGHTS_EN_DAYS.search(text) if "day" in text else None
    if m:
        return _unless_rate(text, m)
    return None


def _unless_rate(text: str, m: re.Match[str]) -> int | None:
    """The count of a match, or None when it is one night in a sentence about money (a rate, not a stay) or
    zero ("零晚" is no stay length)."""
    value = cn_int(next((group for group in m.groups() if group), ""))
    if value == 1:
        clause = _CLAUSE_SPLIT.split(text[max(0, m.start() - 24):m.end() + 12])
        if any(_PRICE.search(part) for part in clause):
            return None
    return value or None


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
    """Read the words around each date, up to the neighbouring dates and within its clause: the last cue
    before it decides ("check in tomorrow and leave on the 3rd", "住到26号", "until the 9th"), else the first
    one after it ("26号退房"); a range word after an earlier date (到26号) makes it a check-out."""
    roles: list[Role] = []
    for index, (start, end, value) in enumerate(dates):
        prev_end = dates[index - 1][1] if index else 0
        next_start = dates[index + 1][0] if index + 1 < len(dates) else len(text)
        before = _CLAUSE_SPLIT.split(text[max(prev_end, start - _BEFORE):start])[-1]
        after = _CLAUSE_SPLIT.split(text[end:min(next_start, end + _AFTER)])[0]
        cues = list(_CUE.finditer(before))
        cue = cues[-1] if cues else _CUE.search(after)
        ranged = (bool(roles) and _RANGE_BEFORE.search(before) is not None) or _STAY_TO.search(before) is not None
        is_out = ranged or (cue is not None and cue.group("out") is not None)
        roles.append((is_out, cue is not None or ranged, value))
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
    """Keep all stay dates in a booking conversation, only explicitly cued ones elsewhere.

    Outside a booking, a date that is no stay date is the day a service is wanted: `date` ("明天下午两点送早餐
    到1203" → tomorrow, with time 14:00 and room 1203).
    """
    entities.pop("_implicit_dates", None)
    explicit_in = entities.pop("check_in_explicit", None)
    explicit_out = entities.pop("check_out_explicit", None)
    if not booking_context:
        any_in, any_out = entities.pop("check_in", None), entities.pop("check_out", None)
        first = any_in or any_out
        if explicit_in is not None:
            entities["check_in"] = explicit_in
        if explicit_out is not None:
            entities["check_out"] = explicit_out
        if explicit_in is None and explicit_out is None and first is not None:
            entities["date"] = first
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
    if "date" in entities:
        entities["date"] = entities["date"].isoformat()
    if check_in:
        entities["check_in"] = check_in.isoformat()
    if check_out:
        entities["check_out"] = check_out.isoformat()
    return entities
