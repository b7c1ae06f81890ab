"""The name a reservation goes under, read from what the guest typed when asked ("李雷", "我叫欧阳娜娜",
"my name is Anna Lee", "李先生"). A front desk asks for it; the display name of a chat account is not it.

The surname is what the booker will be asked for when the booking is attached from another account, so
it is taken as a Chinese reader or a Western reader would: the first character (or a compound surname)
of a Chinese name, the last word of a Latin one.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from handlers.i18n import common_english
from handlers.phrases import items

MAX_NAME = 60
_HAN = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff·•]+$")
_LATIN = re.compile(r"^[A-Za-z\u00c0-\u024f]+(?:['’.\-][A-Za-z\u00c0-\u024f]+)*\.?$")
_EDGES = " \t\r\n,，.。!！:：;；\"'“”‘’()（）"


@dataclass(frozen=True)
class BookerName:
    full: str
    surname: str
    latin: bool  # a Latin name can be written surname first ("Li Lei") or last ("Anna Lee")


def read_name(text: str) -> BookerName | None:
    """The booker's name, or None when the text does not look like one (digits, a sentence, nothing)."""
    name = unicodedata.normalize("NFKC", text).strip(_EDGES)
    lowered = name.lower()
    for prefix in sorted(items("name_intro", "prefix"), key=len, reverse=True):
        if lowered.startswith(prefix):
            name = name[len(prefix):].strip(_EDGES)
            break
    honorific = next((s for s in items("name_intro", "suffix") if name.endswith(s) and len(name) > len(s)), None)
    if honorific:
        name = name[: -len(honorific)].strip(_EDGES)
    if not name or len(name) > MAX_NAME:
        return None
    if _HAN.match(name.replace(" ", "")):
        han = name.replace(" ", "")
        if len(han) > 5:
            return None
        compound = next((c for c in items("compound_surnames", "exact") if han.startswith(c)), None)
        surname = compound or han[0]
        return BookerName(han if not honorific else f"{han}{honorific}", surname, latin=False)
    surname_first = "," in name or "，" in name  # "LI, Lei": the surname first, as on a passport
    words = name.replace("，", " ").replace(",", " ").split()
    if not 1 <= len(words) <= 4 or not all(_LATIN.match(word) for word in words):
        return None
    if all(common_english(word.strip(".")) for word in words):  # "ok", "yes please", "this one"
        return None
    if surname_first and len(words) >= 2:
        return BookerName(" ".join(words), words[0], latin=True)
    return BookerName(" ".join(words), words[-1], latin=True)


def proves_name(surname: str, full: str, text: str) -> bool:
    """Whether the text is the booker's surname (or full name); for a Latin name either end word, since
    "Li Lei" and "Anna Lee" put the surname at different ends."""
    said = " ".join(unicodedata.normalize("NFKC", text).strip(_EDGES).casefold().split())
    if not said:
        return False
    candidates = {surname.casefold(), " ".join(full.casefold().split())}
    words = full.split()
    if len(words) >= 2 and all(_LATIN.match(word) for word in words):
        candidates |= {words[0].casefold(), words[-1].casefold()}
    return said in candidates - {""}
