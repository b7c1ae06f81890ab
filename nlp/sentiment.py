"""Sentiment: the hand-written rules that turn opinion words into a score, and the score into a label.

No weights learned from any corpus ship (nlp/README.md says why); the vocabulary is
`nlp/data/sentiment.yaml` and the rules are here. `Tone` is fed by the lexicon pass (`nlp.scan`) one
opinion word at a time and keeps what the position of a word does to it: 但是 discounts what came
before in its sentence, 就是 makes a flaw a footnote, 总的来说 marks a verdict, 除了 turns a clause
around, the first opinionated sentence of a review usually is the verdict, and a hotel's reply pasted
under a review is not the guest speaking. `label` then maps the score to negative / neutral /
positive, knowing that reviews are rarely neutral. Weights were chosen on half of a review set and
checked on the other half (nlp/README.md); the figures there are the reason for each constant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from nlp.lexicon import Term

NEUTRAL_BAND = 0.75
NEUTRAL_BAND_LENGTH = 45
FORCED_POLARITY_LENGTH = 100  # texts this long (chars + words) are reviews or stories: never neutral
LONG_TEXT = 25  # from this length on a message reads like a review: learned weights join, neutral is rare
# Review-like text (see `review_like`) is forced to a side. Reviews that praise a hotel still list its
# flaws ("位置不错，就是有点吵") while unhappy guests say so plainly, so the hand score must fall clearly
# below zero before a review counts as negative. Lengths count Chinese characters + English words.
REVIEW_LENGTH = 18  # from this length an opinion without a request or question reads as a review
REVIEW_ASKING = 40  # ... and from this length on even when it asks or requests, if it is full of opinions
REVIEW_THRESHOLD = -1.5  # short reviews (< REVIEW_LONG)
REVIEW_LONG = 50
REVIEW_LONG_THRESHOLD = -2.0  # longer reviews mention more flaws in passing
CATEGORY_LEADS_BELOW = 22  # shorter than this, complaint/praise decide the label over a weak score
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
_OPEN_QUOTES = frozenset("\"'“‘「『")
_CLOSE_QUOTES = frozenset("\"'”’」』")


class Tone:
    """Running sentiment of one message, fed one lexicon hit at a time by the scan."""

    __slots__ = ("sentiment", "hits", "qmarks", "bangs", "contrast_at", "reservation_at", "exception_at",
                 "summary_at", "replied", "sentences", "sentence_hits", "sentence_sent", "opening_bonus")

    def __init__(self) -> None:
        self.sentiment = 0.0
        self.hits = 0  # opinion words counted
        self.qmarks = 0  # question marks, "???" counting three
        self.bangs = 0  # exclamation marks, "!!!" counting three
        self.contrast_at = False
        self.reservation_at = False
        self.exception_at = False
        self.summary_at = False
        self.replied = False
        self.sentences = 0  # sentences that carried an opinion word so far
        self.sentence_hits = 0
        self.sentence_sent = 0.0  # sentiment of the current sentence so far (what 但是 discounts)
        self.opening_bonus = 0.0  # extra weight of the first opinionated sentence, see `total`

    def total(self) -> float:
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

    def hear(self, term: Term, negated: bool, boost: float) -> None:
        """Count a term's opinion (if any) where it stands, then let it mark what follows.

        An opinion is weighed by its position: the strongest of the position weights, not their product
        (a verdict is not counted thrice); a negated flaw is faint praise, negated praise a real flaw.
        `Scan.apply` skips the call for terms with none of the attributes read here (most are category
        cues only, and this runs per term found): a new attribute read here must be added there too.
        """
        if term.sent and not self.replied:
            value = term.sent * boost
            if negated:
                value = -value * (0.9 if value > 0 else 0.5)
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
            self.hits += 1
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

    def retract(self, value: float) -> None:
        """Take back an opinion that turned out to be an intensifier: 好 in 好差 is not praise."""
        self.sentiment -= value
        self.sentence_sent -= value
        self.hits -= 1
        self.sentence_hits -= 1


def scare_quoted(surface: list[str], start: int, end: int) -> bool:
    """Is the word at tokens start..end inside quotes? 服务很“好”, “豪华”房: praise in quotes is irony."""
    return 0 < start and end + 1 < len(surface) and surface[start - 1][-1] in _OPEN_QUOTES \
        and surface[end + 1][0] in _CLOSE_QUOTES


def softened(keys: list[str], j: int) -> bool:
    """Does a softening tail start at token j ("了点", "一点", "了一点", "了些", "一些", "点儿")?"""
    first = keys[j]
    second = keys[j + 1] if j + 1 < len(keys) else ""
    if first == "了":
        first, second = second, keys[j + 2] if j + 2 < len(keys) else ""
        if first in ("点", "些"):
            return True
    return (first == "一" and second in ("点", "些")) or (first == "点" and second == "儿")


def punctuation(qmarks: int, bangs: int) -> float:
    """What "?" and "!" say in a review: rhetorical questions and indignation, both capped."""
    return RHETORIC_WEIGHT * min(qmarks, RHETORIC_CAP) + EXCLAIM_WEIGHT * min(bangs, EXCLAIM_CAP)


def review_like(length: int, asks: bool, opinions: int, about_service: bool) -> bool:
    """Does the text read like a review or a story (which has a side) rather than a request?

    Long texts always do. From REVIEW_LENGTH characters on, an opinion that neither asks nor requests
    does too — unless it is about a service topic with no opinion word at all ("明天入住，住两晚，大床房").
    """
    if length >= FORCED_POLARITY_LENGTH:
        return True
    if length < REVIEW_LENGTH:
        return False
    if asks:
        # a long message full of opinions is still a review ("……希望改进一下吧？")
        return length >= REVIEW_ASKING and opinions >= 2
    return not about_service or opinions > 0


def label(score: float, category: str, length: int, review: bool, *, learned: bool = False) -> str:
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


def feature_set(words: Iterable[str]) -> set[str]:
    """The features of learned weights: distinct words, without punctuation marks and bare numbers."""
    return {k for k in words if k and k not in ("?", "!") and not k.isdigit()}


class LearnedWeights:
    """A hotel's own weights (`sentiment_learned.tsv`, built by `nlp.build_sentiment` on reviews it may
    use): optional, and only trusted on long Chinese text, where the hand lexicon is weakest."""

    def __init__(self, weights: Mapping[str, float]) -> None:
        self._weights: Mapping[str, float] = dict(weights)

    @classmethod
    def load(cls, dirs: Iterable[Path]) -> LearnedWeights:
        """Merge `sentiment_learned.tsv` of every lexicon directory (none ship with Concierge)."""
        weights: dict[str, float] = {}
        for directory in dirs:
            path = Path(directory) / "sentiment_learned.tsv"
            if path.is_file():
                weights.update(read_weights(path))
        return cls(weights)

    def applies(self, lang: str, text: str) -> bool:
        """Only for Chinese text of review length, and only if the hotel has weights at all."""
        return bool(self._weights) and lang != "en" and len(text) >= LONG_TEXT

    def score(self, lexicon_score: float, words: Iterable[str]) -> float:
        """Bias + lexicon share + one weight per distinct word."""
        weights = self._weights
        score = weights.get("__bias__", 0.0) + weights.get("__lexicon__", 1.0) * lexicon_score
        for key in feature_set(words):
            score += weights.get(key, 0.0)
        return score


def read_weights(path: Path) -> dict[str, float]:
    """token<TAB>weight lines; comments and malformed lines are skipped, not fatal (a hand-edited file)."""
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
