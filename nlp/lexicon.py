"""Loading the YAML lexicons into one term table.

Every word or phrase the analyser reacts to — category cues, sentiment words, negators, intensifiers,
urgency and escalation cues, FAQ topics, preferences — lives in `nlp/data/*.yaml` so a hotel can extend
the vocabulary without touching code. All of it is merged into a single dict keyed by the term's
canonical matching form, so one pass over a message's tokens finds everything with one lookup per token.

A hotel adds vocabulary by passing extra directories to `Analyzer(lexicon_dirs=...)`; files there with
the same names are merged on top (a term listed twice keeps its larger weight — singular and plural
stem to the same key — and new terms are added).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DATA_DIR = Path(__file__).resolve().parent / "data"
ROOM_TYPE_WEIGHT = 1.0  # naming a room type leans towards a booking conversation
LEXICON_FILES: tuple[str, ...] = ("categories.yaml", "sentiment.yaml", "cues.yaml", "faq.yaml", "preferences.yaml")

try:  # libyaml's loader is ~10x faster, which matters for start-up time
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader


@dataclass(slots=True)
class Term:
    """Everything one lexicon term contributes when it occurs in a message."""

    cats: dict[str, float] = field(default_factory=dict)
    negcats: dict[str, float] = field(default_factory=dict)  # only when the term is negated
    sent: float = 0.0
    sent_set: bool = False  # listed in sentiment.yaml (even as neutral): its sentiment is not inherited
    urgency: int = 0  # +1 raises to high, -1 lowers to low
    escalate: bool = False
    faq: dict[str, float] = field(default_factory=dict)
    pref: tuple[str, str] | None = None
    pref_negated: tuple[str, str] | None = None
    negator: bool = False
    intensity: float = 0.0  # multiplier for the next sentiment word; 0 = not an intensifier
    contrast: bool = False  # "但是": what came before counts less, the rest of the sentence more
    reservation: bool = False  # "就是/只是": a minor flaw follows ("不错，就是有点吵"), it counts less
    exception: bool = False  # "除了": the clause it opens is the exception, the rest of the review the opposite
    summary: bool = False  # "总的来说": the guest's own verdict, the rest of the sentence counts double
    reply: bool = False  # "酒店回复": what follows is the hotel's answer to a review, not the guest's mood
    question: bool = False
    info: bool = False  # an information question ("几点", "where is") rather than a yes/no or a request
    request: bool = False
    room: str | None = None  # a room-type code from the hotel's configuration


_CACHE: dict[tuple[str, int, int], Any] = {}


def load_yaml(path: Path) -> Any:
    """Parse a lexicon file; parsed once per process and version of the file (start-up time matters)."""
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _CACHE:
        with path.open(encoding="utf-8") as handle:
            _CACHE[key] = yaml.load(handle, Loader=_Loader) or {}
    return _CACHE[key]


def _pairs(section: Any) -> Iterable[tuple[str, float]]:
    """Accept `{term: weight}` or `[term, ...]` (weight 1)."""
    if isinstance(section, dict):
        for key, value in section.items():
            yield str(key), float(value if value is not None else 1.0)
    elif isinstance(section, list):
        for key in section:
            yield str(key), 1.0


def build_terms(dirs: Iterable[Path], canon: Callable[[str], str]) -> dict[str, Term]:
    """Merge the lexicon files of all `dirs` (in order) into one table keyed by `canon(term)`."""
    terms: dict[str, Term] = {}

    def get(raw: str) -> Term | None:
        key = canon(raw)
        if not key:
            return None
        term = terms.get(key)
        if term is None:
            term = terms[key] = Term()
        return term

    for directory in dirs:
        for name in LEXICON_FILES:
            path = Path(directory) / name
            if not path.is_file():
                continue
            data = load_yaml(path)
            if name == "categories.yaml":
                for category, section in (data.get("categories") or {}).items():
                    for raw, weight in _pairs(section):
                        if (t := get(raw)) is not None:
                            t.cats[category] = max(t.cats.get(category, weight), weight)
                for category, section in (data.get("when_negated") or {}).items():
                    for raw, weight in _pairs(section):
                        if (t := get(raw)) is not None:
                            t.negcats[category] = max(t.negcats.get(category, weight), weight)
            elif name == "sentiment.yaml":
                for sign, section_name in ((1.0, "positive"), (-1.0, "negative"), (0.0, "neutral")):
                    for raw, weight in _pairs(data.get(section_name)):
                        if (t := get(raw)) is not None:
                            t.sent = sign * weight
                            t.sent_set = True
            elif name == "cues.yaml":
                for raw, _ in _pairs(data.get("negators")):
                    if (t := get(raw)) is not None:
                        t.negator = True
                for raw, weight in _pairs(data.get("intensifiers")):
                    if (t := get(raw)) is not None:
                        t.intensity = weight
                for flag in ("contrast", "reservation", "exception", "summary", "reply", "question", "request"):
                    for raw, _ in _pairs(data.get(flag)):
                        if (t := get(raw)) is not None:
                            setattr(t, flag, True)
                for raw, _ in _pairs(data.get("info_question")):
                    if (t := get(raw)) is not None:
                        t.question = t.info = True
                for raw, _ in _pairs(data.get("urgent")):
                    if (t := get(raw)) is not None:
                        t.urgency = 1
                for raw, _ in _pairs(data.get("not_urgent")):
                    if (t := get(raw)) is not None:
                        t.urgency = -1
                for raw, _ in _pairs(data.get("escalate")):
                    if (t := get(raw)) is not None:
                        t.escalate = True
            elif name == "faq.yaml":
                for topic, section in (data.get("topics") or {}).items():
                    for raw, weight in _pairs(section):
                        if (t := get(raw)) is not None:
                            t.faq[topic] = max(t.faq.get(topic, weight), weight)
            elif name == "preferences.yaml":
                for item in data.get("preferences") or []:
                    pref = (str(item["key"]), str(item["value"]))
                    negated = item.get("when_negated")
                    category = item.get("category")
                    for raw in item.get("terms") or []:
                        if (t := get(str(raw))) is not None:
                            t.pref = pref
                            if category:
                                t.cats[category] = t.cats.get(category, 0.0) + float(item.get("weight", 2.0))
                            if negated is not None:
                                t.pref_negated = (pref[0], str(negated))
    inherit_sentiment(terms)
    return terms


_OPINION_CATS = frozenset({"complaint", "praise", "maintenance"})


def inherit_sentiment(terms: dict[str, Term]) -> None:
    """Give a phrase the sentiment of the words inside it ("太离谱" in categories.yaml holds "离谱").

    Why: matching takes the longest term, so a category phrase would otherwise hide the sentiment word
    it contains and "价格太离谱了" would read as neutral. Inner words are found by longest match over
    the term's own characters (English: words), with negators and intensifiers applied as in a message.
    """
    for key, term in terms.items():
        if term.sent_set or term.sent or term.negator or term.intensity or term.room is not None:
            continue
        if not _OPINION_CATS.intersection(term.cats):
            continue  # "卫生纸", "good morning", "clean the room": a thing or a request, not an opinion
        units = key.split(" ") if key.isascii() else list(key)
        if len(units) < 2:
            continue
        glue = " " if key.isascii() else ""
        total = 0.0
        negated = False
        boost = 1.0
        i = 0
        while i < len(units):
            found: Term | None = None
            end = i
            for j in range(len(units), i, -1):
                if i == 0 and j == len(units):
                    continue  # the term itself
                inner = terms.get(glue.join(units[i:j]))
                if inner is not None and (inner.sent or inner.negator or inner.intensity or inner.sent_set):
                    found, end = inner, j
                    break
            if found is None:
                i += 1
                continue
            if found.sent and (end - i > 1 or key.isascii() or negated or boost != 1.0):
                # (a lone character counts only after a negator or intensifier: 很吵 yes, 附近 no)
                value = found.sent * boost
                if negated:
                    value = -value * (0.9 if value > 0 else 0.5)
                total += value
                negated, boost = False, 1.0
            elif found.negator:
                negated = True
            elif found.intensity:
                boost = found.intensity
            i = end
        term.sent = round(total, 3)


def raw_terms(dirs: Iterable[Path]) -> set[str]:
    """Every term string written in the lexicons, for teaching them to jieba as words."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, (int, float)) or value is None:
                    found.add(str(key))
                else:
                    if key == "terms" and isinstance(value, list):
                        found.update(str(v) for v in value)
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                if isinstance(item, str):
                    found.add(item)
                else:
                    walk(item)

    for directory in dirs:
        for name in LEXICON_FILES:
            path = Path(directory) / name
            if path.is_file():
                walk(load_yaml(path))
    return found


def add_room_types(terms: dict[str, Term], room_types: Mapping[str, Sequence[str]],
                   canon: Callable[[str], str]) -> None:
    """The hotel's room-type codes and synonyms become terms (or mark existing ones), so the one lexicon
    pass finds 大床房 / king bed without a regex of its own; the first code to claim a synonym keeps it."""
    for code, synonyms in room_types.items():
        for synonym in [code, *synonyms]:
            key = canon(str(synonym))
            if key:
                term = terms.get(key)
                if term is None:
                    term = terms[key] = Term()
                if term.room is None:
                    term.room = code
                    term.cats.setdefault("booking", ROOM_TYPE_WEIGHT)
