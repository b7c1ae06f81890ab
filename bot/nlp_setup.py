"""Builds the NLP analyser from the hotel's settings (room synonyms, time zone, cache in the data dir)."""

from __future__ import annotations

from bot.config import Settings
from nlp import Analyzer


def build_analyzer(settings: Settings) -> Analyzer:
    room_types = {room.code: [room.code, *room.synonyms, room.names.zh, room.names.en] for room in settings.room_types}
    return Analyzer(room_types=room_types, timezone=settings.hotel.timezone, cache_dir=settings.data_dir)
