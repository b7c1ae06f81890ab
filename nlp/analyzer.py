"""The Analyzer: one object, built once, that turns a guest message into an `Analysis`.

How a message is read:
1. canonical text (NFKC, lower case, Traditional → Simplified only when Traditional characters occur,
   Cantonese function words → Mandarin: "連唔到" → "连不到");
2. matching tokens: one per Chinese character, one per English word (stemmed), one per emoji;
3. one left-to-right pass that finds the longest lexicon term at each token (maximum matching against
   the lexicon: usually one set lookup per character) and tracks negation, intensifiers, contrast
   (但是), reservations (就是), verdicts (总的来说) and sentence ends on the way;
4. category = highest weighted score, with complaint/praise pulled up by strong sentiment; confidence
   from the margin between the best two scores and the evidence behind the best;
5. entities by regex on the canonical text, preferences from the same term pass.

Where jieba is used, and why not for classification: jieba is loaded once per analyser with the hotel
user dictionary (nlp/data/userdict.txt plus every lexicon term as a word, cache in the data dir). It
segments text for full-text search (`search_tokens`), for the hotel's own learned sentiment weights, and
its dictionary tells the matcher when a lexicon term is only the start or end of an ordinary word
(卫生 in 卫生间, 差 in 出差). Classification matches the lexicon on characters instead of on jieba words.
Both were measured (nlp/README.md): on jieba words (HMM off, lexicon terms as user words, phrases as
multi-token patterns) quality is the same within noise (dev macro-F1 0.981 vs 0.986, holdout 0.980 vs
0.973, review sentiment 0.850/0.845 vs 0.854/0.845), but `concierge bench nlp` falls from a ratio of
~0.90 to ~0.60-0.65 of bare `jieba.lcut`, below the 0.8 budget: segmenting costs about as much as the
whole rest of the analysis, and maximum matching over a lexicon needs no segmenter because the
lexicon is the dictionary.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timezone as dt_timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jieba

from nlp.analysis import CATEGORIES, Analysis
from nlp.entities import EntityExtractor, finish_dates, select_dates
from nlp.lexicon import DATA_DIR, Term, build_terms, load_yaml, raw_terms
from nlp.text import Normaliser, cantonese_to_mandarin, join_tokens, stem

log = logging.getLogger(__name__)

MAX_CHARS = 3000  # guests do not write more; longer input is analysed by its beginning
NEUTRAL_BAND = 0.75
NEUTRAL_BAND_LENGTH = 45
FORCED_POLARITY_LENGTH = 100  # texts this long (chars + words) are reviews or stories: never neutral
LONG_TEXT = 25  # from this length on a message reads like a review: learned weights join, neutral is rare
# Review-like text (see `_review_like`) is forced to a side. Reviews that praise a hotel still list its
# flaws ("位置不错，就是有点吵") while unhappy guests say so plainly, so the hand score must fall clearly
# below zero before a review counts as negative. Chosen on one half of a public review corpus and
# checked on the other half (nlp/README.md). Lengths count Chinese characters + English words.
REVIEW_LENGTH = 18  # from this length an opinion without a request or question reads as a review
REVIEW_ASKING = 40  # ... and from this length on even when it asks or requests, if it is full of opinions
REVIEW_THRESHOLD = -1.5  # short reviews (< REVIEW_LONG)
REVIEW_LONG = 50
REVIEW_LONG_THRESHOLD = -2.0  # longer reviews mention more flaws in passing
CATEGORY_LEADS_BELOW = 22  # shorter than this, complaint/praise decide the label over a weak score
ROOM_TYPE_WEIGHT = 1.0  # naming a room type leans towards a booking conversation
_TERM_FREQ = 30000  # jieba frequency for lexicon terms: high enough that they stay whole words
_STAY_KEYS = ("nights", "guests", "rooms", "check_in", "check_out")  # room types are lexicon terms
_BOOKING_FAMILY = frozenset({"booking", "booking_change", "cancellation"})
_BOOKING_ORDER = ("booking", "booking_change", "cancellation")
_TOPIC_CATS = frozenset(CATEGORIES) - {"complaint", "praise", "other", "faq"}
_EMOJI = "\U0001f300-\U0001faff\u2600-\u27bf"
_MATCH_TOKENS = re.compile(
    rf"[a-z0-9]+|[\u3400-\u4dbf\u4e00-\u9fff]|[{_EMOJI}]|[^\sa-z0-9\u3400-\u4dbf\u4e00-\u9fff{_EMOJI}]+").findall
_is_emoji = re.compile(rf"[{_EMOJI}]").match
_OPEN_QUOTES = frozenset("\"'“‘「『")
_CLOSE_QUOTES = frozenset("\"'”’」』")
_PARTICLES = frozenset("了的得着吗呢啊吧啦呀哦嘛么")
_MODIFIERS = frozenset("很太好真不没超挺蛮极最更有也都又还就才")
_ASCII_TOKENS = re.compile(r"[a-zA-Z0-9]+|[^\sa-zA-Z0-9]").findall
_has_cjk = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]").search
_SENTENCE_END = re.compile(r"[。.;!?…~\n]").search  # where the scope of 但是/就是/总之 ends (commas do not end it)
CONTRAST_BEFORE = 0.6  # "A，但是B": A counts less ...
CONTRAST_AFTER = 1.4  # ... and B more, until the end of the sentence (both within that sentence only)
RESERVATION_NEGATIVE = 0.6  # "A不错，就是有点吵": the flaw after 就是/只是 is a footnote, not the verdict
EXCEPTION_WEIGHT = -0.5  # "除了位置好，其他都很差" / "本以为很干净": the clause speaks for the opposite of itself
# In a review (not a request) question marks are rhetorical ("这也叫四星？") and "!!!" is indignation far
# more often than delight; both lean negative, capped so a long rant is not decided by punctuation alone.
RHETORIC_LENGTH = 40
RHETORIC_WEIGHT = -1.0  # per "?"
RHETORIC_CAP = 3
EXCLAIM_WEIGHT = -0.5  # per "!"
EXCLAIM_CAP = 6
SUMMARY_WEIGHT = 2.0  # "总的来说还不错": the guest's own verdict
OPENING_WEIGHT = 1.6  # in a text of several opinionated sentences the first is usually the verdict
SOFTENER = 0.6  # 贵了点, 小了一点, 旧了些: an opinion word followed by 了点/一点/了些 is shrugged at


class Analyzer:
    """Keyword understanding of guest messages (zh-Hans, zh-Hant, en, mixed); see module docstring."""

    def __init__(
        self,
        room_types: Mapping[str, Sequence[str]] | None = None,
        timezone: str = "Asia/Shanghai",
        cache_dir: Path | None = None,
        *,
        lexicon_dirs: Sequence[Path] = (),
        max_chars: int = MAX_CHARS,
        learned_sentiment: Mapping[str, float] | None = None,
    ) -> None:
        self._tz = ZoneInfo(timezone)
        self._max_chars = max_chars
        self._norm = Normaliser()
        dirs = [DATA_DIR, *[Path(d) for d in lexicon_dirs]]

        jieba.setLogLevel(logging.WARNING)
        self._jieba = jieba.Tokenizer()
        if cache_dir is not None:
            cache_dir = Path(cache_dir)
            cache_dir.mkdir(parents=True, exist_ok=True)
            self._jieba.tmp_dir = str(cache_dir)
        self._jieba.initialize()
        for directory in dirs:
            userdict = Path(directory) / "userdict.txt"
            if userdict.is_file():
                with userdict.open("rb") as handle:  # given a path, jieba leaves the file open
                    self._jieba.load_userdict(handle)
        freq = self._jieba.FREQ
        words = set(raw_terms(dirs))
        room_forms = {str(s) for syns in (room_types or {}).values() for s in syns}
        for word in words | room_forms:
            form = self._canon_surface(word)
            if form and not form.isascii() and " " not in form and len(form) > 1:
                if freq.get(form, 0) < _TERM_FREQ:
                    self._jieba.add_word(form, _TERM_FREQ)

        self._freq = self._jieba.FREQ
        self._terms: dict[str, Term] = build_terms(dirs, self._canon_key)
        for code, synonyms in (room_types or {}).items():
            for synonym in [code, *synonyms]:
                key = self._canon_key(str(synonym))
                if key:
                    term = self._terms.get(key)
                    if term is None:
                        term = self._terms[key] = Term()
                    if term.room is None:
                        term.room = code
                        term.cats.setdefault("booking", ROOM_TYPE_WEIGHT)
        self._prefixes: frozenset[str] = frozenset(k[:i] for k in self._terms for i in range(1, len(k) + 1))
        holidays: dict[str, Any] = {}
        for directory in dirs:
            path = Path(directory) / "holidays.yaml"
            if path.is_file():
                data = load_yaml(path)
                for section in ("fixed", "by_year"):
                    holidays.setdefault(section, {}).update(data.get(section) or {})
        if learned_sentiment is None:
            learned: dict[str, float] = {}
            for directory in dirs:
                path = Path(directory) / "sentiment_learned.tsv"
                if path.is_file():
                    learned.update(_read_weights(path))
            learned_sentiment = learned
        self._learned: Mapping[str, float] = dict(learned_sentiment)
        self._entities = EntityExtractor(holidays)

    # -- canonical forms ------------------------------------------------------------------------------
    def _canon_surface(self, text: str) -> str:
        """Canonical text of a lexicon entry or synonym (same steps as a message)."""
        clean = self._norm.clean(text, 200)
        _, convert = self._norm.language(clean)
        return cantonese_to_mandarin(self._norm.to_simplified(clean) if convert else clean)

    def _canon_key(self, text: str) -> str:
        """Matching key of a lexicon term: its tokens joined exactly as a message's tokens are joined."""
        tokens = self._tokens(self._canon_surface(text))[0]
        key = ""
        for token in tokens:
            if not token:
                continue
            key = join_tokens(key, token)
        return key

    def _tokens(self, text: str) -> tuple[list[str], list[str]]:
        """Matching tokens (matching keys, surface forms): one per Chinese character, one per English
        word (stemmed); punctuation becomes "" (a clause boundary); spaces vanish."""
        keys: list[str] = []
        surface = _MATCH_TOKENS(text)
        for token in surface:
            if token.isascii():
                if token.isalpha():
                    keys.append(stem(token))
                elif token.isalnum() or token == "?" or token == "!":
                    keys.append(token)
                elif "?" in token:
                    keys.append("?")  # "???", "?!": still a question (and counted, see `_scan`)
                elif "!" in token:
                    keys.append("!")
                else:
                    keys.append("")
            elif len(token) == 1 and ("\u4e00" <= token <= "\u9fff" or "\u3400" <= token <= "\u4dbf"):
                keys.append(token)
            elif _is_emoji(token):
                keys.append(token)  # an emoji is a word: 👍 and 😡 are in the sentiment lexicon
            else:
                keys.append("")  # CJK punctuation, symbols
        return keys, surface

    def _words(self, text: str) -> list[str]:
        """jieba words (Simplified) and English stems: the vocabulary of search and of learned weights."""
        words: list[str] = []
        tokens = _ASCII_TOKENS(text) if text.isascii() else self._jieba.lcut(text, HMM=False)
        for token in tokens:
            if token.isascii():
                if token.isalpha():
                    words.append(stem(token))
                elif token.isalnum():
                    words.append(token)
            elif _has_cjk(token):
                words.append(token)
        return words

    # -- public API ---------------------------------------------------------------------------------
    def search_tokens(self, text: str) -> list[str]:
        """Normalised tokens for full-text search: jieba words (Simplified) and English stems."""
        try:
            clean = self._norm.clean(text if isinstance(text, str) else str(text), self._max_chars)
            _, convert = self._norm.language(clean)
            if convert:
                clean = self._norm.to_simplified(clean)
            return self._words(clean)
        except Exception:  # pragma: no cover - search must never break a request
            log.exception("search_tokens failed")
            return []

    def analyze(self, text: str, now: datetime | None = None) -> Analysis:
        """Analyse one message. Never raises: a failure inside becomes an `other` with confidence 0."""
        try:
            return self._analyze(text if isinstance(text, str) else str(text), now)
        except Exception:  # pragma: no cover - defensive: the pipeline must never crash on a message
            log.exception("analysis failed")
            return Analysis(lang="en", category="other", confidence=0.0, sentiment="neutral", urgency="normal")

    def local_today(self, now: datetime | None) -> date:
        """The hotel's calendar date at `now` (naive means UTC)."""
        if now is None:
            now = datetime.now(dt_timezone.utc)
        elif now.tzinfo is None:
            now = now.replace(tzinfo=dt_timezone.utc)
        return now.astimezone(self._tz).date()

    # -- the work -----------------------------------------------------------------------------------
    def _analyze(self, text: str, now: datetime | None) -> Analysis:
        clean = self._norm.clean(text, self._max_chars)
        lang, convert = self._norm.language(clean)
        if convert:
            clean = self._norm.to_simplified(clean)
        if lang != "en":
            clean = cantonese_to_mandarin(clean)
        keys, surface = self._tokens(clean)
        scan = self._scan(keys, surface)
        today = self.local_today(now)
        entities = self._entities.extract(clean, today)
        if scan.room is not None:
            entities["room_type"] = scan.room
        # stay facts are evidence of a booking conversation ("明晚两个人，标间" has no booking verb)
        if scan.other_room and scan.cats.get("booking_change", 0.0) > 0:
            # two room types and a change word: moving from one to the other, not a new booking
            scan.cats["booking_change"] += 2 * ROOM_TYPE_WEIGHT
        stay = sum(1 for key in _STAY_KEYS if key in entities)
        if stay:
            # ... of the booking-family request the words point to: "把预订改到12月26号" is a change
            family = max(_BOOKING_ORDER, key=lambda c: (scan.cats.get(c, 0.0), c == "booking"))
            scan.cats[family] = scan.cats.get(family, 0.0) + min(stay, 3) * 0.7
        category, confidence = self._decide(scan)
        entities = finish_dates(select_dates(entities, category in _BOOKING_FAMILY))
        score = scan.sentiment
        units = len(keys) - keys.count("")  # Chinese characters + English words: comparable lengths
        review = _review_like(scan, category, units)
        if review and units >= RHETORIC_LENGTH:
            score += RHETORIC_WEIGHT * min(scan.qmarks, RHETORIC_CAP) + EXCLAIM_WEIGHT * min(scan.bangs, EXCLAIM_CAP)
        use_learned = bool(self._learned) and lang != "en" and len(clean) >= LONG_TEXT
        if use_learned:
            score = self._learned_score(score, self._words(clean))
        sentiment = _sentiment_label(score, category, len(clean) if use_learned else units, review,
                                     learned=use_learned)
        urgency = self._urgency(scan, category, sentiment)
        faq_topic = None
        if category == "faq" and scan.faq:
            faq_topic = max(scan.faq.items(), key=lambda item: item[1])[0]
        keywords = _keywords(scan, category)
        return Analysis(
            lang=lang,
            category=category,
            confidence=confidence,
            sentiment=sentiment,
            urgency=urgency,
            entities=entities,
            keywords=keywords,
            preferences=scan.prefs,
            faq_topic=faq_topic,
            escalate=scan.escalate,
        )

    def _scan(self, keys: list[str], surface: list[str]) -> _Scan:
        """One left-to-right pass: longest lexicon term at each position (maximum matching).

        Chinese arrives one character per token, English one word per token, so a term is found by
        walking forward while the joined text is still a prefix of some term — usually one set lookup
        per character. A single-character term inside a common two-character word ("小" in "小时",
        "差" in "出差") is skipped, using jieba's dictionary as the list of common words.
        """
        terms, prefixes, freq = self._terms, self._prefixes, self._freq
        scan = _Scan()
        n = len(keys)
        i = 0
        neg_left = 0  # tokens still under a negator's scope
        pending_end, pending_value = -2, 0.0  # an intensifier that is also an opinion word ("好"), just seen
        boost = 1.0  # pending intensifier
        boost_left = 0
        while i < n:
            key = keys[i]
            if not key or key == "?" or key == "!":
                if key == "?":
                    scan.question = True
                    scan.qmarks += surface[i].count("?")
                elif key == "!":
                    scan.bangs += surface[i].count("!")
                    if surface[i] == "!":
                        scan.exclaim += 1  # (urgency counts lone marks only, as it always has)
                if key or _SENTENCE_END(surface[i]):
                    scan.end_sentence()
                elif surface[i] != "、":  # an enumeration comma keeps the clause: 除了早餐、位置之外
                    scan.end_clause()
                neg_left = 0
                boost_left = 0
                i += 1
                continue
            best: Term | None = None
            best_end = i
            best_key = key
            if key in prefixes:
                joined = key
                j = i
                while True:
                    term = terms.get(joined)
                    if term is not None:
                        best, best_end, best_key = term, j, joined
                    j += 1
                    if j >= n:
                        break
                    nxt = keys[j]
                    if not nxt:
                        break
                    joined = join_tokens(joined, nxt)
                    if joined not in prefixes:
                        break
                if best is not None and not best.question and not best_key[-1].isascii():
                    nxt = keys[best_end + 1] if best_end + 1 < n else ""
                    if best.negator and len(best_key) > 1:
                        pass  # 不太 in 不太好 is a negation, even where jieba knows 不太好 as one word
                    elif len(nxt) == 1 and nxt not in _PARTICLES and not nxt.isascii() and freq.get(best_key + nxt, 0) > 0:
                        best = None  # the start of a longer ordinary word: 卫生 in 卫生间, 热水 in 热水器
                    elif best_end == i and len(key) == 1:
                        prev = keys[i - 1] if i else ""
                        if len(prev) == 1 and prev not in _MODIFIERS and freq.get(prev + key, 0) > 0:
                            best = None  # the end of an ordinary word: 差 in 出差
            if best is None:
                i += 1
                if neg_left:
                    neg_left -= 1
                if boost_left:
                    boost_left -= 1
                continue
            negated = neg_left > 0 and not best.negator
            if best.sent > 0 and 0 < i and best_end + 1 < n and surface[i - 1][-1] in _OPEN_QUOTES \
                    and surface[best_end + 1][0] in _CLOSE_QUOTES:
                negated = True  # scare quotes: 服务很“好”, “豪华”房 — praise in quotes is irony
            before = scan.sentiment
            scale = boost if boost_left else 1.0
            if best.sent and best_end + 2 < n and _soft_after(keys, best_end + 1):
                scale *= SOFTENER  # 贵了点, 小了一点, 旧了些: a flaw the guest shrugs at
            scan.apply(best, best_key, _join_surface(surface[i:best_end + 1]), negated, scale)
            if best.sent and pending_end == i - 1 and before != scan.sentiment:
                # "好" / "太" right before an opinion word intensifies it and is not an opinion itself
                scan.sentiment -= pending_value
                scan.sentence_sent -= pending_value
                scan.sent_hits -= 1
                scan.sentence_hits -= 1
                pending_end = -2
            elif best.intensity and best.sent:
                pending_end, pending_value = best_end, scan.sentiment - before
            else:
                pending_end = -2
            if best.negator:
                neg_left = 3
            elif negated and best.sent:
                neg_left = 0  # a negation is spent on the first opinion word: "没有问题，很不错"
            elif neg_left:
                neg_left -= 1
            if best.intensity:
                boost, boost_left = best.intensity, 4
            elif best.sent:
                boost_left = 0
            elif boost_left:
                boost_left -= 1
            i = best_end + 1
        scan.sentiment = scan.score()
        return scan

    def _learned_score(self, lexicon_score: float, keys: list[str]) -> float:
        """Learned weights for long, review-like texts: bias + lexicon share + one weight per token."""
        learned = self._learned
        score = learned.get("__bias__", 0.0) + learned.get("__lexicon__", 1.0) * lexicon_score
        for key in _feature_set(keys):
            score += learned.get(key, 0.0)
        return score

    def review_features(self, text: str) -> tuple[float, set[str]]:
        """(hand-lexicon sentiment score, distinct tokens) — what `build_sentiment` trains on."""
        clean = self._norm.clean(text, self._max_chars)
        _, convert = self._norm.language(clean)
        if convert:
            clean = self._norm.to_simplified(clean)
        keys, surface = self._tokens(clean)
        return self._scan(keys, surface).sentiment, _feature_set(self._words(clean))

    @staticmethod
    def _decide(scan: _Scan) -> tuple[str, float]:
        scores = dict(scan.cats)
        topic_total = sum(scan.faq.values())
        if topic_total:
            factor = 1.0 if scan.question else 0.45
            if scan.request and not scan.info_question:
                factor *= 0.5
            scores["faq"] = scores.get("faq", 0.0) + topic_total * factor
        if scan.question and scan.info_question:
            scores["faq"] = scores.get("faq", 0.0) * 1.25
        neg = -min(scan.sentiment, 0.0)
        pos = max(scan.sentiment, 0.0)
        if neg:
            scores["complaint"] = scores.get("complaint", 0.0) + 0.6 * max(neg - 1.0, 0.0)
        if pos:
            scores["praise"] = scores.get("praise", 0.0) + 0.5 * pos
        topical = max((scores.get(c, 0.0) for c in _TOPIC_CATS), default=0.0)
        if pos >= 2.0 and pos > 2 * neg and not scan.request and not scan.question and topical:
            # thanks for a service is praise, not a new request ("打扫得很干净，谢谢阿姨")
            scores["praise"] = scores.get("praise", 0.0) + 0.5 * topical + 0.3 * pos
        if scores.get("complaint", 0.0) >= 2.0 and neg >= 1.5 and topical:
            # an unhappy guest talking about a service is a complaint first ("空调还是没人来修，太失望了")
            scores["complaint"] += 0.5 * topical
        if scores.get("praise", 0.0) and neg > pos:
            scores["praise"] *= 0.3
        ranked = sorted(((v, c) for c, v in scores.items() if v > 0), reverse=True)
        if not ranked:
            return "other", 0.3
        top, category = ranked[0]
        second = ranked[1][0] if len(ranked) > 1 else 0.0
        margin = top / (top + second) if top + second else 0.0
        evidence = 1.0 - math.exp(-top / 1.6)
        confidence = round(max(0.05, min(0.99, margin * evidence + (0.1 if top - second >= 2 else 0.0))), 2)
        return category, confidence

    @staticmethod
    def _urgency(scan: _Scan, category: str, sentiment: str) -> str:
        if scan.urgency > 0:
            return "high"
        if scan.urgency < 0:
            return "low"
        if category in ("faq", "praise", "other"):
            return "low"
        if category == "complaint" and (scan.exclaim >= 2 or scan.sentiment <= -5):
            return "high"
        return "normal"


class _Scan:
    """Accumulated evidence of one pass over a message's tokens."""

    __slots__ = ("cats", "faq", "sentiment", "sent_hits", "urgency", "escalate", "prefs", "question",
                 "info_question", "request", "exclaim", "bangs", "qmarks", "hits", "contrast_at", "reservation_at", "exception_at",
                 "summary_at", "replied", "sentences", "sentence_hits", "opening_bonus", "sentence_sent",
                 "room", "other_room")

    def __init__(self) -> None:
        self.cats: dict[str, float] = {}
        self.faq: dict[str, float] = {}
        self.sentiment = 0.0
        self.sent_hits = 0
        self.urgency = 0
        self.escalate = False
        self.prefs: dict[str, str] = {}
        self.question = False
        self.info_question = False
        self.request = False
        self.exclaim = 0
        self.qmarks = 0  # question marks, "???" counting three
        self.bangs = 0  # exclamation marks, "!!!" counting three
        self.hits: list[tuple[str, Term, bool]] = []
        self.contrast_at = False
        self.reservation_at = False
        self.exception_at = False
        self.summary_at = False
        self.replied = False
        self.sentences = 0  # sentences that carried an opinion word so far
        self.sentence_hits = 0
        self.sentence_sent = 0.0  # sentiment of the current sentence so far (what 但是 discounts)
        self.opening_bonus = 0.0  # extra weight of the first opinionated sentence, see `score`
        self.room: str | None = None
        self.other_room = False  # a second, different room type ("把大床房换成套房")

    def score(self) -> float:
        """The message's sentiment. In a text of several opinionated sentences (a review), the first
        one is usually the verdict ("酒店很差。……") and counts more; a one-liner is left as it is."""
        if self.sentences + (1 if self.sentence_hits else 0) >= 2:
            return self.sentiment + self.opening_bonus
        return self.sentiment

    def end_sentence(self) -> None:
        """但是/就是/总之 govern the rest of their sentence, not the rest of the message."""
        self.contrast_at = self.reservation_at = self.summary_at = False
        self.exception_at = False
        self.sentence_sent = 0.0
        if self.sentence_hits:
            self.sentences += 1
            self.sentence_hits = 0

    def end_clause(self) -> None:
        """除了/本以为 govern their clause only (up to the next comma)."""
        self.exception_at = False

    def apply(self, term: Term, key: str, surface: str, negated: bool, boost: float) -> None:
        self.hits.append((surface.strip(), term, negated))
        cats = self.cats
        for category, weight in term.cats.items():
            cats[category] = cats.get(category, 0.0) + weight
        if negated:
            for category, weight in term.negcats.items():
                cats[category] = cats.get(category, 0.0) + weight
        for topic, weight in term.faq.items():
            self.faq[topic] = self.faq.get(topic, 0.0) + weight
        if term.sent and not self.replied:
            value = term.sent * boost
            if negated:
                value = -value * (0.9 if value > 0 else 0.5)
            # the strongest of the position weights, not their product (a verdict is not counted thrice)
            weight = 1.0
            if self.contrast_at:
                weight = CONTRAST_AFTER
            if self.summary_at:
                weight = max(weight, SUMMARY_WEIGHT)
            opening = max(weight, OPENING_WEIGHT) if self.sentences == 0 else weight
            if self.reservation_at and value < 0:
                weight *= RESERVATION_NEGATIVE
                opening *= RESERVATION_NEGATIVE
            if self.exception_at:
                weight *= EXCEPTION_WEIGHT
                opening *= EXCEPTION_WEIGHT
            self.opening_bonus += value * (opening - weight)
            value *= weight
            self.sentiment += value
            self.sentence_sent += value
            self.sent_hits += 1
            self.sentence_hits += 1
        if term.contrast:
            # only the sentence it stands in: "A。B，但是C" leaves A alone (a long review has many 但是)
            self.sentiment -= self.sentence_sent * (1 - CONTRAST_BEFORE)
            self.sentence_sent *= CONTRAST_BEFORE
            if self.sentences == 0:
                self.opening_bonus *= CONTRAST_BEFORE
            self.contrast_at = True
        if term.reservation:
            self.reservation_at = True
        if term.summary:
            self.summary_at = True
        if term.exception:
            self.exception_at = True
        if term.reply:
            self.replied = True
        if term.urgency and not (negated and term.urgency > 0):
            self.urgency = term.urgency if negated is False else -1
        if term.escalate and not negated:
            self.escalate = True
        if term.pref is not None:
            if negated:
                if term.pref_negated is not None:
                    self.prefs[term.pref_negated[0]] = term.pref_negated[1]
            else:
                self.prefs[term.pref[0]] = term.pref[1]
        if term.question:
            self.question = True
            if term.info:
                self.info_question = True
        if term.request:
            self.request = True
        if term.room is not None:
            if self.room is None:
                self.room = term.room
            elif term.room != self.room:
                self.other_room = True


def _soft_after(keys: list[str], j: int) -> bool:
    """Does a softening tail start at token j ("了点", "一点", "了一点", "了些", "一些", "点儿")?"""
    first = keys[j]
    second = keys[j + 1] if j + 1 < len(keys) else ""
    if first == "了":
        first, second = second, keys[j + 2] if j + 2 < len(keys) else ""
        if first in ("点", "些"):
            return True
    return (first == "一" and second in ("点", "些")) or (first == "点" and second == "儿")


def _feature_set(keys: list[str]) -> set[str]:
    return {k for k in keys if k and k not in ("?", "!") and not k.isdigit()}


def _read_weights(path: Path) -> dict[str, float]:
    weights: dict[str, float] = {}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("#"):
                continue
            token, _, value = line.rstrip("\n").partition("\t")
            try:
                weights[token] = float(value)
            except ValueError:
                continue
    return weights


def _join_surface(tokens: list[str]) -> str:
    text = ""
    for token in tokens:
        text = join_tokens(text, token.strip())
    return text


def _review_like(scan: _Scan, category: str, length: int) -> bool:
    """Does the text read like a review or a story (which has a side) rather than a request?

    Long texts always do. From REVIEW_LENGTH characters on, an opinion that neither asks nor requests
    does too — unless it is about a service topic with no opinion word at all ("明天入住，住两晚，大床房").
    """
    if length >= FORCED_POLARITY_LENGTH:
        return True
    if length < REVIEW_LENGTH:
        return False
    if scan.request or scan.question:
        # a long message full of opinions is still a review ("……希望改进一下吧？")
        return length >= REVIEW_ASKING and scan.sent_hits >= 2
    return category not in _TOPIC_CATS and category != "faq" or scan.sent_hits > 0


def _sentiment_label(score: float, category: str, length: int, review: bool, *, learned: bool = False) -> str:
    """Map the sentiment score to a label.

    A complaint is negative and praise positive even when the wording carries no sentiment word of its
    own ("第三次打电话了") — for short messages; in a review the score decides. Review-like texts are
    forced to a side (reviews are rarely neutral); other messages keep a neutral band.
    """
    if learned and length >= LONG_TEXT:
        # the hotel's own learned weights (Chinese review-like text): trust them over the category, but
        # a message of request length whose score is near the middle stays neutral
        if length < NEUTRAL_BAND_LENGTH and abs(score) < NEUTRAL_BAND and category not in ("complaint", "praise"):
            return "neutral"
        return "positive" if score > 0.0 else "negative"
    if not (review and length >= CATEGORY_LEADS_BELOW):
        if category == "complaint" and score < 0.9:
            return "negative"
        if category == "praise" and score > -0.9:
            return "positive"
    if review:
        threshold = REVIEW_LONG_THRESHOLD if length >= REVIEW_LONG else REVIEW_THRESHOLD
        return "positive" if score > threshold else "negative"
    if score >= 0.9:
        return "positive"
    if score <= -0.9:
        return "negative"
    return "neutral"


def _keywords(scan: _Scan, category: str, limit: int = 8) -> list[str]:
    """The terms that decided: those weighing for the chosen category, strongest first."""
    weighted: dict[str, float] = {}
    for surface, term, negated in scan.hits:
        weight = term.cats.get(category, 0.0)
        if negated:
            weight += term.negcats.get(category, 0.0)
        if category == "faq":
            weight += sum(term.faq.values())
        if category in ("complaint", "praise") and term.sent:
            weight += abs(term.sent) * 0.5
        if weight > 0 and surface:
            weighted[surface] = max(weighted.get(surface, 0.0), weight)
    return [k for k, _ in sorted(weighted.items(), key=lambda item: -item[1])[:limit]]
