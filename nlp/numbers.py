"""Numbers as guests write them: digits, Chinese numerals (二十四, 两, 一百二十) and English words.

Dates, stay length, party size and times all count with the same numerals, so the patterns and the
parser live here once and every entity module imports them.
"""

from __future__ import annotations

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
