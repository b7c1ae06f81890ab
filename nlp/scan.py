"""The lexicon pass: one left-to-right walk over a message's matching tokens that finds the longest
lexicon term at each position and gathers all evidence on the way.

The lexicon is the dictionary (maximum matching): Chinese arrives one character per token, English one
word per token, so a term is found by walking forward while the joined text is still a prefix of some
term — usually one set lookup per character. Negation, intensifiers, scare quotes and softeners are
tracked here because they are about neighbouring tokens; what an opinion word's position in its
sentence does to it is `nlp.sentiment.Tone`'s business. This loop is the analyser's hot path, which is
why its state lives in locals and it calls out only when a token could start a term.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from nlp.lexicon import Term
from nlp.sentiment import SOFTENER, Tone, scare_quoted, softened
from nlp.text import join_tokens

_SENTENCE_END = re.compile(r"[。.;!?…~\n]").search  # where the scope of 但是/就是/总之 ends (commas do not end it)
_PARTICLES = frozenset("了的得着吗呢啊吧啦呀哦嘛么")
_MODIFIERS = frozenset("很太好真不没超挺蛮极最更有也都又还就才")
_NEGATION_SCOPE = 3  # tokens a negator reaches (不是很干净)
_BOOST_SCOPE = 4  # tokens an intensifier reaches (非常的干净)


class Scan:
    """Accumulated evidence of one pass over a message's tokens."""

    __slots__ = ("cats", "faq", "urgency", "escalate", "prefs", "question", "info_question", "request", "exclaim",
                 "hits", "room", "other_room", "tone", "sentiment")

    def __init__(self) -> None:
        self.cats: dict[str, float] = {}
        self.faq: dict[str, float] = {}
        self.urgency = 0
        self.escalate = False
        self.prefs: dict[str, str] = {}
        self.question = False
        self.info_question = False
        self.request = False
        self.exclaim = 0  # lone "!" marks (urgency)
        self.hits: list[tuple[str, Term, bool]] = []  # (surface, term, negated), for the keywords
        self.room: str | None = None
        self.other_room = False  # a second, different room type ("把大床房换成套房")
        self.tone = Tone()
        self.sentiment = 0.0  # the final score, set when the pass ends

    def apply(self, term: Term, surface: str, negated: bool, boost: float) -> None:
        """Everything one found term contributes, given whether it is negated and how it is boosted."""
        self.hits.append((surface.strip(), term, negated))
        cats = self.cats
        for category, weight in term.cats.items():
            cats[category] = cats.get(category, 0.0) + weight
        if negated:
            for category, weight in term.negcats.items():
                cats[category] = cats.get(category, 0.0) + weight
        for topic, weight in term.faq.items():
            self.faq[topic] = self.faq.get(topic, 0.0) + weight
        if term.sent or term.contrast or term.reservation or term.summary or term.exception or term.reply:
            self.tone.hear(term, negated, boost)  # (most terms are category cues only)
        if term.urgency and not (negated and term.urgency > 0):
            self.urgency = term.urgency if negated is False else -1
        if term.escalate and not negated:
            self.escalate = True
        if term.pref is not None:
            self._preference(term, negated)
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

    def _preference(self, term: Term, negated: bool) -> None:
        """不要高楼层 sets the opposite preference, when the lexicon names one."""
        if negated:
            if term.pref_negated is not None:
                self.prefs[term.pref_negated[0]] = term.pref_negated[1]
        elif term.pref is not None:
            self.prefs[term.pref[0]] = term.pref[1]


class Scanner:
    """Runs the lexicon pass; read-only after construction, so one instance serves all threads."""

    def __init__(self, terms: dict[str, Term], freq: Mapping[str, int]) -> None:
        self._terms = terms
        self._prefixes: frozenset[str] = frozenset(k[:i] for k in terms for i in range(1, len(k) + 1))
        self._freq = freq  # jieba's dictionary: which character pairs are ordinary words

    def scan(self, keys: list[str], surface: list[str]) -> Scan:
        """One left-to-right pass: longest lexicon term at each position (maximum matching), with the
        scope of negators and intensifiers counted in tokens."""
        terms, prefixes, freq = self._terms, self._prefixes, self._freq
        particles, modifiers, sentence_end = _PARTICLES, _MODIFIERS, _SENTENCE_END
        scan = Scan()
        tone, apply = scan.tone, scan.apply
        n = len(keys)
        i = 0
        neg_left = 0  # tokens still under a negator's scope
        pending_end, pending_value = -2, 0.0  # an intensifier that is also an opinion word ("好"), just seen
        boost = 1.0  # pending intensifier
        boost_left = 0
        while i < n:
            key = keys[i]
            if not key or key == "?" or key == "!":
                # a punctuation mark (inline: once per mark): "?" makes a question, "!" is counted,
                # and either ends a sentence
                token = surface[i]
                if key == "?":
                    scan.question = True
                    tone.qmarks += token.count("?")
                elif key == "!":
                    tone.bangs += token.count("!")
                    if token == "!":
                        scan.exclaim += 1  # (urgency counts lone marks only, as it always has)
                if key or sentence_end(token):
                    tone.end_sentence()
                elif token != "、":  # an enumeration comma keeps the clause: 除了早餐、位置之外
                    tone.end_clause()
                neg_left = 0
                boost_left = 0
                i += 1
                continue
            best: Term | None = None
            best_end = i
            if key in prefixes:
                # longest term from here (inline: this runs for most characters of a message)
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
                    # `join_tokens`, inlined (a call per character costs here): English words join with a space
                    last = joined[-1]
                    if last.isascii() and last.isalnum() and nxt[0].isascii() and nxt[0].isalnum():
                        joined = joined + " " + nxt
                    else:
                        joined += nxt
                    if joined not in prefixes:
                        break
                if best is not None and not best.question and not best_key[-1].isascii() \
                        and not (best.negator and len(best_key) > 1):
                    # is this Chinese term only the start or end of an ordinary word? (inline: this runs
                    # for most terms found). 不太 in 不太好 is a negation even where jieba knows 不太好.
                    nxt = keys[best_end + 1] if best_end + 1 < n else ""
                    if len(nxt) == 1 and nxt not in particles and not nxt.isascii() \
                            and freq.get(best_key + nxt, 0) > 0:
                        best = None  # the start of a longer ordinary word: 卫生 in 卫生间, 热水 in 热水器
                    elif best_end == i and len(key) == 1:
                        prev = keys[i - 1] if i else ""
                        if len(prev) == 1 and prev not in modifiers and freq.get(prev + key, 0) > 0:
                            best = None  # the end of an ordinary word: 差 in 出差
            if best is None:
                i += 1
                if neg_left:
                    neg_left -= 1
                if boost_left:
                    boost_left -= 1
                continue
            negated = neg_left > 0 and not best.negator
            if best.sent > 0 and scare_quoted(surface, i, best_end):
                negated = True  # praise in quotes is irony
            before = tone.sentiment
            scale = boost if boost_left else 1.0
            if best.sent and best_end + 2 < n and softened(keys, best_end + 1):
                scale *= SOFTENER  # 贵了点, 小了一点, 旧了些: a flaw the guest shrugs at
            # most hits are one token: those skip the slice and the join (inline: once per term found)
            apply(best, surface[i].strip() if best_end == i else _join_surface(surface[i:best_end + 1]),
                  negated, scale)
            if best.sent and pending_end == i - 1 and before != tone.sentiment:
                # "好" / "太" right before an opinion word intensifies it and is not an opinion itself
                tone.retract(pending_value)
                pending_end = -2
            elif best.intensity and best.sent:
                pending_end, pending_value = best_end, tone.sentiment - before
            else:
                pending_end = -2
            if best.negator:
                neg_left = _NEGATION_SCOPE
            elif negated and best.sent:
                neg_left = 0  # a negation is spent on the first opinion word: "没有问题，很不错"
            elif neg_left:
                neg_left -= 1
            if best.intensity:
                boost, boost_left = best.intensity, _BOOST_SCOPE
            elif best.sent:
                boost_left = 0
            elif boost_left:
                boost_left -= 1
            i = best_end + 1
        scan.sentiment = tone.total()
        return scan


def _join_surface(tokens: list[str]) -> str:
    """The words of a hit as the guest wrote them (for the keywords), spaced as tokens are joined."""
    text = ""
    for token in tokens:
        text = join_tokens(text, token.strip())
    return text
