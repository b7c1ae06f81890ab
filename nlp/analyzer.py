"""The Analyzer: one object, built once, that turns a guest message into an `Analysis`.

How a message is read, and where each step lives:
1. canonical text (NFKC, lower case, Traditional → Simplified only when Traditional characters occur,
   Cantonese function words → Mandarin: "連唔到" → "连不到") — `nlp.text`, via `nlp.tokens`;
2. matching tokens: one per Chinese character, one per English word (stemmed), one per emoji —
   `nlp.tokens`;
3. one left-to-right pass that finds the longest lexicon term at each token and tracks negation,
   intensifiers, quotes and sentence ends on the way — `nlp.scan`, feeding the sentiment rules of
   `nlp.sentiment` (contrast, reservations, verdicts, exceptions);
4. category = highest weighted score, with complaint/praise pulled up by strong sentiment; confidence
   from the margin between the best two scores and the evidence behind the best — `nlp.classify`;
5. entities by regex on the canonical text — `nlp.entities`, with dates in `nlp.dates` and their
   check-in / check-out roles in `nlp.stay`; preferences come from the same term pass.

Classification matches the lexicon on characters, not on jieba words: both were measured (nlp/README.md)
and give the same quality within noise, but segmenting costs about as much as the rest of the analysis.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from datetime import timezone as dt_timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from nlp.analysis import Analysis
from nlp.classify import BOOKING_FAMILY, SERVICE_CATEGORIES, decide, faq_topic, keywords, lean_on_stay, urgency
from nlp.dates import load_holidays
from nlp.entities import EntityExtractor
from nlp.lexicon import DATA_DIR, add_room_types, build_terms, raw_terms
from nlp.scan import Scan, Scanner
from nlp.sentiment import RHETORIC_LENGTH, LearnedWeights, feature_set, label, punctuation, review_like
from nlp.stay import finish_dates, select_dates
from nlp.text import cantonese_to_mandarin
from nlp.tokens import Tokenizer, match_tokens

log = logging.getLogger(__name__)

MAX_CHARS = 3000  # guests do not write more; longer input is analysed by its beginning


class Analyzer:
    """Keyword understanding of guest messages (zh-Hans, zh-Hant, en, mixed); see module docstring.

    Read-only after construction, so one instance serves every thread.
    """

    def __init__(
        self,
        room_types: Mapping[str, Sequence[str]] | None = None,
        timezone: str = "Asia/Shanghai",
        cache_dir: Path | None = None,
        *,
        lexicon_dirs: Sequence[Path] = (),
        max_chars: int = MAX_CHARS,
        learned_sentiment: Mapping[str, float] | None = None,
        day_first: bool = False,
    ) -> None:
        self._tz = ZoneInfo(timezone)
        self._max_chars = max_chars
        dirs = [DATA_DIR, *[Path(d) for d in lexicon_dirs]]
        room_forms = {str(s) for syns in (room_types or {}).values() for s in syns}
        self._tokenizer = Tokenizer(dirs, set(raw_terms(dirs)) | room_forms, cache_dir)
        terms = build_terms(dirs, self._tokenizer.term_key)
        add_room_types(terms, room_types or {}, self._tokenizer.term_key)
        self._scanner = Scanner(terms, self._tokenizer.freq)
        if learned_sentiment is None:
            self._learned = LearnedWeights.load(dirs)
        else:
            self._learned = LearnedWeights(learned_sentiment)
        self._entities = EntityExtractor(load_holidays(dirs), day_first=day_first)

    # -- public API ---------------------------------------------------------------------------------
    def analyze(self, text: str, now: datetime | None = None) -> Analysis:
        """Analyse one message. Never raises: a failure inside becomes an `other` with confidence 0.

        The pipeline must answer every guest, so this is the safety net around `analyze_strict`, and
        the failure is logged (see `_log_failure`) so that it is not silent.
        """
        try:
            return self.analyze_strict(text, now)
        except Exception as exc:  # noqa: BLE001 - the pipeline must never crash on a message; logged
            _log_failure("analysis", text, exc)
            return Analysis(lang="en", category="other", confidence=0.0, sentiment="neutral", urgency="normal")

    def analyze_strict(self, text: str, now: datetime | None = None) -> Analysis:
        """Analyse one message; raises whatever goes wrong. Tests call this one, so a bug fails them
        instead of passing as a valid "other"."""
        clean, lang = self._tokenizer.simplified(_as_text(text), self._max_chars)
        if lang != "en":
            clean = cantonese_to_mandarin(clean)
        keys, surface = match_tokens(clean)
        scan = self._scanner.scan(keys, surface)
        today = self.local_today(now)
        entities = self._entities.extract(clean, today)
        if scan.room is not None:
            entities["room_type"] = scan.room
        units = len(keys) - keys.count("")  # Chinese characters + English words: comparable lengths
        category, confidence = decide(scan, lean_on_stay(scan, entities, today), units, "booking_ref" in entities)
        # a lone date ("On the 7th.") answers a booking question: kept unless another request claimed it
        entities = finish_dates(select_dates(entities, category in BOOKING_FAMILY or category == "other"))
        return Analysis(
            lang=lang,
            category=category,
            confidence=confidence,
            sentiment=self._sentiment(scan, category, units, clean, lang),
            urgency=urgency(scan, category),
            entities=entities,
            keywords=keywords(scan, category),
            preferences=scan.prefs,
            faq_topic=faq_topic(scan, category),
            escalate=scan.escalate,
        )

    def search_tokens(self, text: str) -> list[str]:
        """Normalised tokens for full-text search: jieba words (Simplified) and English stems. Never
        raises (search must not break a request); `search_tokens_strict` does."""
        try:
            return self.search_tokens_strict(text)
        except Exception as exc:  # noqa: BLE001 - search must not break a request; logged
            _log_failure("search_tokens", text, exc)
            return []

    def search_tokens_strict(self, text: str) -> list[str]:
        """`search_tokens` without the safety net: raises whatever goes wrong."""
        return self._tokenizer.search_tokens(_as_text(text), self._max_chars)

    def local_today(self, now: datetime | None) -> date:
        """The hotel's calendar date at `now` (naive means UTC): 明天 is relative to the hotel, not the server."""
        if now is None:
            now = datetime.now(dt_timezone.utc)
        elif now.tzinfo is None:
            now = now.replace(tzinfo=dt_timezone.utc)
        return now.astimezone(self._tz).date()

    def review_features(self, text: str) -> tuple[float, set[str]]:
        """(hand-lexicon sentiment score, distinct tokens) — what `build_sentiment` trains on."""
        clean, _ = self._tokenizer.simplified(text, self._max_chars)
        keys, surface = match_tokens(clean)
        return self._scanner.scan(keys, surface).sentiment, feature_set(self._tokenizer.words(clean))

    # -- the work -----------------------------------------------------------------------------------
    def _sentiment(self, scan: Scan, category: str, units: int, clean: str, lang: str) -> str:
        """The label: the hand score, with review punctuation and (if the hotel has them) learned weights."""
        tone = scan.tone
        review = review_like(units, scan.request or scan.question, tone.hits, category in SERVICE_CATEGORIES)
        score = scan.sentiment
        if review and units >= RHETORIC_LENGTH:
            score += punctuation(tone.qmarks, tone.bangs)
        if self._learned.applies(lang, clean):
            score = self._learned.score(score, self._tokenizer.words(clean))
            return label(score, category, len(clean), review, learned=True)
        return label(score, category, units, review)


def _as_text(text: object) -> str:
    """Callers are typed, but a message body from the web is not always a string."""
    return text if isinstance(text, str) else str(text)


def _log_failure(what: str, text: object, exc: Exception) -> None:
    """Log a caught failure so it can be found and fixed without leaking the guest's words.

    The line names the exception type, the input's length and the traceback's frames; it leaves out
    the input and the exception's own message, which can quote it (KeyError: '1208房'). Length and
    the time of the log line find the message in the conversation log.
    """
    length = len(text) if isinstance(text, str) else -1
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error("%s failed: %s on input of %d characters\nTraceback (message left out):\n%s",
              what, type(exc).__name__, length, frames.rstrip())
