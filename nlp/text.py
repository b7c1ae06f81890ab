"""Text normalisation shared by the classifier and the entity extractor.

Everything downstream matches against one canonical form: NFKC (full-width digits and letters become
ASCII, so "１２月" parses like "12月"), lower case, control characters removed, Traditional characters
converted to Simplified (the lexicons are written once, in Simplified). The original text is never
modified; the canonical form is only used for matching.
"""

from __future__ import annotations

import os
import re
import unicodedata
from functools import lru_cache

import opencc

# Characters that Unicode calls "control" or "format" (zero-width joiners, bidi marks, NUL...) carry no
# meaning for us and break regexes that expect adjacent characters; they become spaces or vanish.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")
# Pasted HTML: script/style bodies are code, tag names are not the guest's words (they read as English)
_MARKUP_BLOCK_RE = re.compile(r"<(script|style)\b[^>]*>.*?(</\1\s*>|$)", re.IGNORECASE | re.DOTALL)
_TAG_RE = re.compile(r"</?[a-zA-Z][^<>]{0,300}>")
_CJK_RE = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")
_ASCII_LETTER_RE = re.compile(r"[a-z]")
_EN_WORD_RE = re.compile(r"[a-z]{2,}|\b[a-z]\b")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})

# Contractions are expanded before tokenising so that "can't" carries a visible negator ("not") and
# "I'm" / "it's" do not leave stray one-letter tokens behind.
_CONTRACTIONS: dict[str, str] = {
    "can't": "can not", "cannot": "can not", "won't": "will not", "shan't": "shall not",
    "n't": " not", "'re": " are", "'ll": " will", "'ve": " have", "'m": " am", "'d": " would",
    "let's": "let us", "it's": "it is", "that's": "that is", "there's": "there is", "what's": "what is",
    "where's": "where is", "who's": "who is", "here's": "here is", "he's": "he is", "she's": "she is",
}
_CONTRACTION_RE = re.compile(
    r"\b(?:can't|won't|shan't|let's|it's|that's|there's|what's|where's|who's|here's|he's|she's)\b|\bcannot\b"
    r"|n't\b|'re\b|'ll\b|'ve\b|'m\b|'d\b"
)


# "wi-fi", "a/c", "check-in": one spelling each, so lexicon entries need not list every variant
_ASCII_FIXES_RE = re.compile(r"\bwi[- ]?fi\b|\ba/c\b|(?<=[a-z])-(?=[a-z])")


def strip_markup(text: str) -> str:
    """The guest's words without pasted HTML: tags and script/style bodies become spaces."""
    if "<" not in text:
        return text
    return _TAG_RE.sub(" ", _MARKUP_BLOCK_RE.sub(" ", text))


def _ascii_fix(match: re.Match[str]) -> str:
    found = match.group(0)
    if found.startswith("wi"):
        return "wifi"
    if found == "a/c":
        return "ac"
    return " "


def _expand(match: re.Match[str]) -> str:
    return _CONTRACTIONS[match.group(0)]


def _opencc_dictionary(name: str) -> dict[str, list[str]]:
    """Read one of OpenCC's character tables (shipped with the package) as key -> candidates."""
    path = os.path.join(os.path.dirname(opencc.__file__), "dictionary", name)
    table: dict[str, list[str]] = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            key, _, values = line.rstrip("\n").partition("\t")
            if key:
                table[key] = values.split()
    return table


class ScriptDetector:
    """Tell Traditional from Simplified by characters that exist in only one of the two scripts.

    OpenCC's own tables give both sets: a character that converts T→S and is not itself a valid
    Simplified character is Traditional-only, and vice versa. Characters shared by both scripts (most
    of them) say nothing. Frozensets keep the common check (`isdisjoint`) a single C-level scan.
    """

    def __init__(self) -> None:
        ts = _opencc_dictionary("TSCharacters.txt")
        st = _opencc_dictionary("STCharacters.txt")
        trad_only = sorted(k for k, v in ts.items() if len(k) == 1 and k not in st and k not in v)
        simp_only = sorted(k for k, v in st.items() if len(k) == 1 and k not in ts and k not in v)
        self._trad = frozenset(trad_only)
        self._simp = frozenset(simp_only)

    def has_traditional(self, text: str) -> bool:
        return not self._trad.isdisjoint(text)

    def counts(self, text: str) -> tuple[int, int]:
        """(traditional-only, simplified-only) character counts."""
        trad, simp = self._trad, self._simp
        return sum(1 for c in text if c in trad), sum(1 for c in text if c in simp)


class Normaliser:
    """Builds the canonical matching form of a message; one instance per Analyzer, thread-safe."""

    def __init__(self) -> None:
        self.script = ScriptDetector()
        # t2s includes OpenCC's phrase table, so regional words (冷氣 → 冷气) convert as a unit.
        self._t2s = opencc.OpenCC("t2s")
        self._t2s.convert("預熱")  # load the dictionaries now, not on the first guest message
        # The pure-Python converter builds a parse tree on every call (≈ 90 µs a message, 15 % of all the
        # analysis time). Without any of its 277 phrases in the text it converts character by character,
        # which str.translate does in C with the same table (its first candidate, as the converter takes).
        phrases = sorted(_opencc_dictionary("TSPhrases.txt"), key=len, reverse=True)
        self._phrase_re = re.compile("|".join(map(re.escape, phrases)))
        self._t2s_chars = {ord(char): candidates[0] for char, candidates in _opencc_dictionary("TSCharacters.txt").items()
                           if len(char) == 1 and candidates and candidates[0] != char}

    def clean(self, text: str, limit: int) -> str:
        """NFKC, lower case, no control characters or markup, apostrophes unified, whitespace collapsed."""
        if len(text) > limit:
            text = text[:limit]
        text = strip_markup(text)
        if not text.isascii():
            if not unicodedata.is_normalized("NFKC", text):
                text = unicodedata.normalize("NFKC", text)
            text = text.translate(_APOSTROPHES)
        if _CONTROL_RE.search(text):
            text = _CONTROL_RE.sub(" ", text)
        text = text.lower()
        if "'" in text:
            text = _CONTRACTION_RE.sub(_expand, text)
        if "-" in text or "/" in text or "wi fi" in text:
            text = _ASCII_FIXES_RE.sub(_ascii_fix, text)
        return " ".join(text.split())

    def language(self, text: str) -> tuple[str, bool]:
        """Return (lang, needs_conversion) for cleaned text.

        Mixed messages ("wifi密码是多少", "Hi, 1208 needs towels 谢谢") are Chinese when their
        Chinese characters outnumber their English words: a Chinese character carries about a word.
        """
        if text.isascii() or not _CJK_RE.search(text):
            return "en", False
        if self.script.has_traditional(text):
            trad, simp = self.script.counts(text)
        else:
            trad = simp = 0
        if _ASCII_LETTER_RE.search(text):
            words = len(_EN_WORD_RE.findall(text))
            if words and len(_CJK_RE.findall(text)) < words:
                return "en", trad > 0
        return ("zh-Hant" if trad > simp else "zh-Hans"), trad > 0

    def to_simplified(self, text: str) -> str:
        """Traditional → Simplified for matching; length may change for a few regional phrases."""
        if self._phrase_re.search(text):
            return self._t2s.convert(text)
        return text.translate(self._t2s_chars)


# Cantonese written forms (Hong Kong guests) → Mandarin, applied after Traditional → Simplified, so one
# Mandarin lexicon understands "冷氣壞咗", "wifi連唔到", "有冇停車場". Longer forms first; 係 is left alone
# (in Simplified it is 系, a department). Applied to lexicon entries too, so both sides agree.
_CANTONESE: dict[str, str] = {
    "唔该": "麻烦", "唔使": "不用", "唔驶": "不用", "唔好意思": "不好意思", "唔": "不", "冇": "没有", "咗": "了",
    "嘅": "的", "喺": "在", "佢哋": "他们", "我哋": "我们", "你哋": "你们", "哋": "们", "佢": "他", "啲": "些",
    "嚟": "来", "俾": "给", "乜嘢": "什么", "乜": "什么", "嘢": "东西", "睇": "看", "攞": "拿", "拎": "拿",
    "几多钱": "多少钱", "几钱": "多少钱", "边度": "哪里", "边个": "谁", "而家": "现在", "听日": "明天",
    "听晚": "明晚", "听朝": "明早", "寻日": "昨天", "琴日": "昨天", "靓": "漂亮", "好味": "好吃", "埋单": "结账",
    "瞓": "睡", "点样": "怎么样", "点解": "为什么", "系咪": "是不是", "呢度": "这里", "𠮶度": "那里", "嗰度": "那里",
    "收工": "下班", "打风": "台风", "揾": "找", "畀": "给", "咩": "什么",
}
_CANTONESE_MARKS = frozenset(key[0] for key in _CANTONESE)
_CANTONESE_RE = re.compile("|".join(sorted(map(re.escape, _CANTONESE), key=len, reverse=True)))


def cantonese_to_mandarin(text: str) -> str:
    """Rewrite Cantonese function words and common phrases as Mandarin (for matching only)."""
    if _CANTONESE_MARKS.isdisjoint(text):
        return text
    return _CANTONESE_RE.sub(lambda m: _CANTONESE[m.group(0)], text)


# words the rules below would merge with a word of another meaning: "rating" is not "rate" (a price)
_KEEP = {"rating": "rating", "ratings": "rating", "rated": "rated"}


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A deliberately tiny English stemmer: plurals, -ing, -ed and a final -e.

    It only has to be consistent, because lexicon entries go through the same function when they are
    loaded: "charged", "charges" and "charge" all become "charg" on both sides.
    """
    if len(word) <= 3 or not word.isascii() or not word.isalpha():
        return word
    if word in _KEEP:
        return _KEEP[word]
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("s") and not word.endswith(("ss", "us", "is", "ous")):
        word = word[:-1]
    if word.endswith("ing") and len(word) > 5:
        word = word[:-3]
    elif word.endswith("ed") and len(word) > 4:
        word = word[:-2]
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


def join_tokens(left: str, right: str) -> str:
    """Join two matching keys the way lexicon phrases are written: English words with a space."""
    if left and right and left[-1].isascii() and left[-1].isalnum() and right[0].isascii() and right[0].isalnum():
        return left + " " + right
    return left + right
