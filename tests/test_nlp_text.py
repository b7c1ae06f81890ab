"""Traditional → Simplified: the fast path must convert exactly as OpenCC's own converter does."""

from __future__ import annotations

import random

import opencc
import pytest

from nlp.text import Normaliser, _opencc_dictionary


@pytest.fixture(scope="module")
def norm() -> Normaliser:
    return Normaliser()


def test_every_character_converts_as_opencc_does(norm: Normaliser) -> None:
    reference = opencc.OpenCC("t2s")
    characters = "".join(char for char in _opencc_dictionary("TSCharacters.txt") if len(char) == 1)
    assert norm.to_simplified(characters) == reference.convert(characters)
    assert [norm.to_simplified(char) for char in characters] == [reference.convert(char) for char in characters]


def test_mixed_texts_with_and_without_phrases_convert_as_opencc_does(norm: Normaliser) -> None:
    reference = opencc.OpenCC("t2s")
    characters = [char for char in _opencc_dictionary("TSCharacters.txt") if len(char) == 1]
    phrases = list(_opencc_dictionary("TSPhrases.txt"))
    filler = list("我的房間冷氣壞了，請盡快來修理。Wi-Fi 密碼? 1208 ") + ["乾洗", "著", "頭髮", "乾淨"]
    rng = random.Random(16)
    for _ in range(3000):
        pool = filler + characters + (phrases if rng.random() < 0.3 else [])
        text = "".join(rng.choice(pool) for _ in range(rng.randint(1, 30)))
        assert norm.to_simplified(text) == reference.convert(text), text
    assert norm.to_simplified("冷氣壞咗，房間好熱") == reference.convert("冷氣壞咗，房間好熱")
