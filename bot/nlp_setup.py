"""Builds the NLP analyser from the hotel's settings (room synonyms, time zone, jieba cache in the data dir).

The one place that translates `Settings` into `Analyzer` arguments, so the pipeline, the CLI and the
benchmark all analyse text with the same vocabulary. A hotel extends the vocabulary by putting YAML
lexicons (and, if it has trained them on data it may use, ``sentiment_learned.tsv`` weights built with
``python -m nlp.build_sentiment``) in ``<data_dir>/lexicons/``; they are merged over the shipped ones.
"""

from __future__ import annotations

from pathlib import Path

from bot.config import Settings
from nlp import Analyzer


def room_synonyms(settings: Settings) -> dict[str, list[str]]:
    """Room code -> every way a guest may name it: configured synonyms plus the display names."""
    return {
        room.code: [room.code, *room.synonyms, room.names.zh, room.names.en] for room in settings.room_types
    }


def hotel_lexicons(settings: Settings) -> list[Path]:
    extra = settings.data_dir / "lexicons"
    return [extra] if extra.is_dir() else []


def build_analyzer(settings: Settings) -> Analyzer:
    return Analyzer(
        room_types=room_synonyms(settings),
        timezone=settings.hotel.timezone,
        cache_dir=settings.data_dir,
        lexicon_dirs=hotel_lexicons(settings),
        day_first=settings.hotel.numeric_dates == "day_first",
    )
