"""Per-locale message catalogs and the hotel's bilingual texts.

Catalogs are YAML files under ``locales/<locale>/`` (one file per area: guest, staff, campaigns…); all
files of a locale are merged, and a key defined twice is an error rather than a silent override.

The hotel writes its own texts (FAQ, names) once in Chinese and once in English; Traditional Chinese
guests get the Chinese text converted with OpenCC rather than asking the hotel to write it three times.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import yaml
from babel import Locale
from babel.lists import format_list
from babel.numbers import format_currency, format_decimal
from opencc import OpenCC

LOCALES = ("zh-Hans", "zh-Hant", "en")
DEFAULT_LOCALE = "zh-Hans"
# CLDR locales behind ours: plural rules, digits and currency symbols come from Babel's data for them
BABEL_LOCALES = {"zh-Hans": "zh_Hans_CN", "zh-Hant": "zh_Hant_TW", "en": "en"}
_DIR = Path(__file__).with_name("locales")
_ENGLISH_WORDS = Path(__file__).with_name("english_words.txt")


class BilingualText(Protocol):
    zh: str
    en: str


@lru_cache(maxsize=1)
def _s2t() -> OpenCC:
    return OpenCC("s2t")


@lru_cache(maxsize=4096)
def to_traditional(text: str) -> str:
    return str(_s2t().convert(text))


def localize(text: BilingualText, locale: str) -> str:
    """The hotel's own bilingual text in the guest's locale."""
    if locale == "en":
        return text.en
    if locale == "zh-Hant":
        return to_traditional(text.zh)
    return text.zh


class Catalog:
    """Wording by key and locale; a missing key falls back to Simplified Chinese, then to the key itself."""

    def __init__(self, directory: Path = _DIR) -> None:
        self._messages: dict[str, dict[str, str]] = {}
        for locale in LOCALES:
            merged: dict[str, str] = {}
            for path in sorted((directory / locale).glob("*.yaml")):
                data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
                for key, value in data.items():
                    if str(key) in merged:
                        raise ValueError(f"{path}: message key {key!r} is already defined in another file")
                    merged[str(key)] = str(value)
            self._messages[locale] = merged

    def keys(self, locale: str) -> set[str]:
        return set(self._messages.get(locale, {}))

    def text(self, locale: str, key: str, **values: object) -> str:
        template = self._messages.get(locale, {}).get(key) or self._messages[DEFAULT_LOCALE].get(key) or key
        return _formatter(locale).vformat(template, (), _Defaulting(values))

    def money(self, locale: str, amount: int, currency: str) -> str:
        """An amount in the hotel's currency, the way the guest's locale writes it (symbol, grouping); the
        catalog's ``fmt.money`` is the CLDR pattern (``¤`` symbol, ``¤¤`` ISO code)."""
        pattern = self.text(locale, "fmt.money")
        return str(format_currency(amount, currency, format=pattern, locale=babel_locale(locale), currency_digits=False))


def babel_locale(locale: str) -> str:
    return BABEL_LOCALES.get(locale, BABEL_LOCALES[DEFAULT_LOCALE])


def join_list(items: list[str], locale: str) -> str:
    """"A, B and C" / "A、B和C", as the locale joins a list."""
    return str(format_list(items, locale=babel_locale(locale))) if items else ""


class _PluralFormatter(string.Formatter):
    """``str.format`` plus ICU-style plurals: ``{nights:one=# night|other=# nights}`` picks the form by the
    locale's CLDR plural rule and writes the number where ``#`` stands. Catalogs that need no plural (Chinese)
    keep plain ``{nights}``."""

    def __init__(self, locale: str) -> None:
        super().__init__()
        self._locale = Locale.parse(babel_locale(locale))

    def format_field(self, value: Any, format_spec: str) -> str:
        if "=" not in format_spec:
            return super().format_field(value, format_spec)
        if not isinstance(value, int):  # a missing value stays visible as "{nights}", as elsewhere
            return str(value)
        forms = dict(part.split("=", 1) for part in format_spec.split("|") if "=" in part)
        form = forms.get(self._locale.plural_form(value)) or forms.get("other") or next(iter(forms.values()))
        return form.replace("#", str(format_decimal(value, locale=self._locale)))


@lru_cache(maxsize=8)
def _formatter(locale: str) -> _PluralFormatter:
    return _PluralFormatter(locale)


class _Defaulting(dict[str, object]):
    """format_map mapping that leaves an unknown placeholder visible instead of raising."""

    def __init__(self, values: Mapping[str, object]) -> None:
        super().__init__(values)

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def normalize_locale(code: str | None) -> str | None:
    """Map a client's language code (Telegram's ``zh-hans``, ``zh-TW``, ``en-GB``…) to one of ours."""
    if not code:
        return None
    lowered = code.lower().replace("_", "-")
    if lowered.startswith("zh"):
        return "zh-Hant" if any(tag in lowered for tag in ("hant", "tw", "hk", "mo")) else "zh-Hans"
    if lowered.startswith("en"):
        return "en"
    return None


_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")


@lru_cache(maxsize=1)
def _english_words() -> frozenset[str]:
    lines = _ENGLISH_WORDS.read_text(encoding="utf-8").split()
    return frozenset(word.lower() for word in lines if not word.startswith("#"))


def common_english(word: str) -> bool:
    """Whether a word is everyday English (so "ok" or "yes please" is not taken for a name)."""
    return word.lower() in _english_words()


def written_in(text: str, detected: str) -> bool:
    """Whether the text itself is evidence of ``detected``: Chinese needs Han characters; English needs at
    least two real English words making up most of its Latin words. Emoji, "lol", "asdf qwer" or a
    keyboard mash carry no language, so they never move a guest off theirs."""
    if detected.startswith("zh"):
        return _HAN.search(text) is not None
    words = [word.lower() for word in _LATIN_WORD.findall(text)]
    known = sum(word in _english_words() for word in words)
    return known >= 2 and known * 2 >= len(words)


def reply_language(current: str, detected: str, text: str, *, meaningful: bool) -> str:
    """The language to answer in: the one the guest writes, but only on a confident message in it — not on
    the strength of a surname, an "ok", emoji, gibberish, or characters that read the same in Simplified
    and Traditional (a Traditional reader stays one)."""
    if detected == current or not meaningful or not written_in(text, detected):
        return current
    if detected == "zh-Hans" and current == "zh-Hant" and to_traditional(text) == text:
        return current
    return detected
