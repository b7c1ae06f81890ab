"""Tokens, two kinds: matching tokens for the lexicon pass, jieba words for search and learned weights.

Matching tokens are one per Chinese character, one per English word (stemmed), one per emoji: the
lexicon is the dictionary, so maximum matching over characters needs no segmenter and costs about
half of what jieba does (measured in nlp/README.md). jieba is still loaded, once per analyser, with the
hotel user dictionary (nlp/data/userdict.txt plus every lexicon term as a word, cache in the data
dir): full-text search and a hotel's learned sentiment weights want real words, and its frequency
table tells the matcher when a term is only part of an ordinary word (卫生 in 卫生间).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from pathlib import Path

import jieba

from nlp.text import Normaliser, cantonese_to_mandarin, join_tokens, stem

_TERM_FREQ = 30000  # jieba frequency for lexicon terms: high enough that they stay whole words
_EMOJI = "\U0001f300-\U0001faff\u2600-\u27bf"
_MATCH_TOKENS = re.compile(
    rf"[a-z0-9]+|[\u3400-\u4dbf\u4e00-\u9fff]|[{_EMOJI}]|[^\sa-z0-9\u3400-\u4dbf\u4e00-\u9fff{_EMOJI}]+").findall
_is_emoji = re.compile(rf"[{_EMOJI}]").match
_ASCII_TOKENS = re.compile(r"[a-zA-Z0-9]+|[^\sa-zA-Z0-9]").findall
_has_cjk = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]").search


def match_tokens(text: str) -> tuple[list[str], list[str]]:
    """Matching tokens of canonical text as (matching keys, surface forms), index for index.

    One key per Chinese character, one per English word (stemmed), one per emoji (👍 and 😡 are in the
    sentiment lexicon); punctuation becomes "" (a clause boundary) except "?" and "!", which count;
    spaces vanish.
    """
    keys: list[str] = []
    surface = _MATCH_TOKENS(text)
    for token in surface:
        if token.isascii():
            if token.isalpha():
                keys.append(stem(token))
            elif token.isalnum() or token == "?" or token == "!":
                keys.append(token)
            elif "?" in token:
                keys.append("?")  # "???", "?!": still a question (and counted by the scan)
            elif "!" in token:
                keys.append("!")
            else:
                keys.append("")
        elif (len(token) == 1 and ("\u4e00" <= token <= "\u9fff" or "\u3400" <= token <= "\u4dbf")) \
                or _is_emoji(token):
            keys.append(token)  # a Chinese character, or an emoji: 👍 and 😡 are words of the lexicon
        else:
            keys.append("")  # CJK punctuation, symbols
    return keys, surface


class Tokenizer:
    """The analyser's text front end: canonical forms, matching keys, and a jieba loaded once.

    Lexicon entries go through exactly the steps a message goes through (`surface_form`, `term_key`),
    so both sides of a lookup agree whatever script or spelling either was written in.
    """

    def __init__(self, dirs: Iterable[Path], extra_words: Iterable[str], cache_dir: Path | None) -> None:
        self.norm = Normaliser()
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
        self._add_words(extra_words)
        self.freq: dict[str, int] = self._jieba.FREQ

    def _add_words(self, words: Iterable[str]) -> None:
        """Lexicon terms and room names become jieba words, so search finds 大床房 as one word."""
        freq = self._jieba.FREQ
        for word in words:
            form = self.surface_form(word)
            if form and not form.isascii() and " " not in form and len(form) > 1 \
                    and freq.get(form, 0) < _TERM_FREQ:
                self._jieba.add_word(form, _TERM_FREQ)

    def simplified(self, text: str, max_chars: int) -> tuple[str, str]:
        """(canonical text in Simplified, detected language) of a message cut to `max_chars`."""
        clean = self.norm.clean(text, max_chars)
        lang, convert = self.norm.language(clean)
        if convert:
            clean = self.norm.to_simplified(clean)
        return clean, lang

    def surface_form(self, text: str) -> str:
        """Canonical text of a lexicon entry or synonym (same steps as a message)."""
        clean = self.norm.clean(text, 200)
        _, convert = self.norm.language(clean)
        return cantonese_to_mandarin(self.norm.to_simplified(clean) if convert else clean)

    def term_key(self, text: str) -> str:
        """Matching key of a lexicon term: its tokens joined exactly as a message's tokens are joined."""
        key = ""
        for token in match_tokens(self.surface_form(text))[0]:
            if token:
                key = join_tokens(key, token)
        return key

    def words(self, text: str) -> list[str]:
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

    def search_tokens(self, text: str, max_chars: int) -> list[str]:
        """Normalised tokens for full-text search: the words of the canonical text. Raises on a bug
        (`Analyzer.search_tokens` is the safety net)."""
        return self.words(self.simplified(text, max_chars)[0])
