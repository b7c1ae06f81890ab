"""Per-locale message catalogs and the hotel's bilingual texts.

Catalogs are YAML files under ``locales/<locale>/`` (one file per area: guest, staff, campaigns…); all
files of a locale are merged, and a key defined twice is an error rather than a silent override.

The hotel writes its own texts (FAQ, names) once in Chinese and once in English; Traditional Chinese
guests get the Chinese text converted with OpenCC rather than asking the hotel to write it three times.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import yaml
from opencc import OpenCC

LOCALES = ("zh-Hans", "zh-Hant", "en")
DEFAULT_LOCALE = "zh-Hans"
_DIR = Path(__file__).with_name("locales")


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
        return template.format_map(_Defaulting(values))


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


def reply_language(current: str, detected: str, text: str, *, meaningful: bool) -> str:
    """The language to answer in: the one the guest writes, but not on the strength of a surname, an "ok"
    or characters that read the same in Simplified and Traditional (a Traditional reader stays one)."""
    if detected == current or not meaningful:
        return current
    if detected == "zh-Hans" and current == "zh-Hant" and to_traditional(text) == text:
        return current
    return detected
