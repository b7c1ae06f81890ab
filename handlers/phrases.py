"""Matching the steering words of ``phrases.yaml`` (confirm, back out, status…) in a guest's message."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

_PATH = Path(__file__).with_name("phrases.yaml")
_PUNCT = re.compile(r"[\s!！?？。.,，、~～…:：;；\"'“”‘’()（）]+")


@lru_cache(maxsize=1)
def _phrases() -> dict[str, dict[str, tuple[str, ...]]]:
    data = yaml.safe_load(_PATH.read_text(encoding="utf-8"))
    return {
        name: {kind: tuple(str(item).lower() for item in items or ()) for kind, items in groups.items()}
        for name, groups in data.items()
    }


def _squash(text: str) -> str:
    return _PUNCT.sub(" ", text.lower()).strip()


def items(name: str, kind: str) -> tuple[str, ...]:
    """One list of ``phrases.yaml`` (lower-cased), for readers that do more than match whole messages."""
    return _phrases().get(name, {}).get(kind, ())


def matches(name: str, text: str) -> bool:
    groups = _phrases().get(name, {})
    squashed = _squash(text)
    exact = groups.get("exact", ())
    if squashed in exact:
        return True
    if squashed and all(part in exact for part in squashed.split()):  # "好的，确认", "ok, yes please"
        return True
    lowered = text.lower()
    return any(phrase in lowered for phrase in groups.get("contains", ()))


def language_choice(text: str) -> str | None:
    """The locale a guest asks for with /language (``en``, ``繁體``…), or None."""
    squashed = _squash(text)
    for locale, words in _phrases()["language"].items():
        if squashed in words:
            return locale
    return None
