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
_WS_RE = re.compile(r"[ \t\r\n\u3000]+")
_CJK_RE = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")
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
    of them) say nothing. One regex character class per side keeps detection a single C-level scan.
    """

    def __init__(self) -> None:
        ts = _opencc_dictionary("TSCharacters.txt")
        st = _opencc_dictionary("STCharacters.txt")
        trad_only = sorted(k for k, v in ts.items() if len(k) == 1 and k not in st and k not in v)
        simp_only = sorted(k for k, v in st.items() if len(k) == 1 and k not in ts and k not in v)
        self._trad = re.compile("[" + "".join(re.escape(c) for c in trad_only) + "]")
        self._simp = re.compile("[" + "".join(re.escape(c) for c in simp_only) + "]")

    def counts(self, text: str) -> tuple[int, int]:
        """(traditional-only, simplified-only) character counts."""
        return len(self._trad.findall(text)), len(self._simp.findall(text))


class Normaliser:
    """Builds the canonical matching form of a message; one instance per Analyzer, thread-safe."""

    def __init__(self) -> None:
        self.script = ScriptDetector()
        # t2s includes OpenCC's phrase table, so regional words (冷氣 → 冷气) convert as a unit.
        self._t2s = opencc.OpenCC("t2s")
        self._t2s.convert("預熱")  # load the dictionaries now, not on the first guest message

    def clean(self, text: str, limit: int) -> str:
        """NFKC, lower case, no control characters, apostrophes unified, whitespace collapsed."""
        if len(text) > limit:
            text = text[:limit]
        text = unicodedata.normalize("NFKC", text)
        text = _CONTROL_RE.sub(" ", text).translate(_APOSTROPHES).lower()
        if "'" in text:
            text = _CONTRACTION_RE.sub(_expand, text)
        return _WS_RE.sub(" ", text).strip()

    def language(self, text: str) -> tuple[str, bool]:
        """Return (lang, needs_conversion) for cleaned text.

        Mixed messages ("wifi密码是多少", "Hi, 1208 needs towels 谢谢") are Chinese when their
        Chinese characters outnumber their English words: a Chinese character carries about a word.
        """
        cjk = len(_CJK_RE.findall(text))
        if cjk == 0:
            return "en", False
        words = len(_EN_WORD_RE.findall(text))
        trad, simp = self.script.counts(text)
        if cjk < words:
            return "en", trad > 0
        return ("zh-Hant" if trad > simp else "zh-Hans"), trad > 0

    def to_simplified(self, text: str) -> str:
        """Traditional → Simplified for matching; length may change for a few regional phrases."""
        return self._t2s.convert(text)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A deliberately tiny English stemmer: plurals, -ing, -ed and a final -e.

    It only has to be consistent, because lexicon entries go through the same function when they are
    loaded: "charged", "charges" and "charge" all become "charg" on both sides.
    """
    if len(word) <= 3 or not word.isascii() or not word.isalpha():
        return word
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
