"""Numbers as guests write them: digits, Chinese numerals (二十四, 两, 三百二, 一二零八, 廿五) and English words.

Dates, stay length, party size, room numbers and times all count with the same numerals, so the patterns and
the parser live here once and every entity module imports them. Chinese numerals are read by `cn2an` (a
maintained library) rather than a parser of our own: it knows the digit-by-digit form of room numbers
(一二零八 → 1208), the elided last unit (三百二 → 320), 千/万 and 廿 (廿五 → 25).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

_EN_NUM = {"a": 1, "an": 1, "one": 1, "single": 1, "two": 2, "couple": 2, "a couple of": 2, "three": 3, "four": 4,
           "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
           "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
           "nineteen": 19, "twenty": 20}
# what cn2an does not take: colloquial 俩 (two), 卅 (thirty), 幺 is known
_CN_COLLOQUIAL = str.maketrans({"俩": "两", "卅": "三十"})

CN_NUM = r"(?:\d{1,4}|[零〇幺一二两俩三四五六七八九十廿卅百千]{1,5})"
EN_NUM = (r"(?:\d{1,3}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen"
          r"|sixteen|seventeen|eighteen|nineteen|twenty)")

_CN_CHARS = frozenset("零〇幺一二两俩三四五六七八九十廿卅百千万")

_cn2an: Any = None


@lru_cache(maxsize=512)
def _chinese(text: str) -> int | None:
    """cn2an in its "normal" mode; imported on first use (about 0.1 s that a message without a Chinese numeral
    never needs to pay at start-up)."""
    global _cn2an  # noqa: PLW0603 - a lazily imported module, set once
    if _cn2an is None:
        import cn2an  # noqa: PLC0415

        _cn2an = cn2an
    try:
        value = _cn2an.cn2an(text.translate(_CN_COLLOQUIAL), "normal")
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return int(value) if value == int(value) else None


def cn_int(text: str) -> int | None:
    """'24' / '二十四' / '两' / '十' / '三百二' / '一二零八' / 'twenty' → int; None if it is not a number we understand."""
    if not text:
        return None
    if text.isdigit():
        return int(text)
    if text in _EN_NUM:
        return _EN_NUM[text]
    if not _CN_CHARS.issuperset(text):
        return None  # cn2an would read "一点" as 1.0 and "二十四号" after stripping: only pure numerals here
    return _chinese(text)
