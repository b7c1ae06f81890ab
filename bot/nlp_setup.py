"""Builds the NLP analyser from the hotel's settings (room synonyms, time zone, jieba cache in the data dir).

The one place that translates `Settings` into `Analyzer` arguments, so the pipeline, the CLI and the
benchmark all analyse text with the same vocabulary.
"""

from __future__ import annotations

from bot.config import Settings
from nlp import Analyzer


def room_synonyms(settings: Settings) -> dict[str, list[str]]:
    """Room code -> every way a guest may name it: configured synonyms plus the display names."""
    rooms: dict[str, list[str]] = {}
    for room in settings.room_types:
        names = room.names
        display = list(names.values()) if isinstance(names, dict) else [getattr(names, "zh", ""), getattr(names, "en", "")]
        rooms[room.code] = [room.code, *room.synonyms, *(name for name in display if name)]
    return rooms


def build_analyzer(settings: Settings) -> Analyzer:
    return Analyzer(room_types=room_synonyms(settings), timezone=settings.hotel.timezone, cache_dir=settings.data_dir)
