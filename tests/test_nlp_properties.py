"""Any string gives a valid Analysis (hypothesis), deterministically and thread-safely.

These call the strict analyser: `Analyzer.analyze` turns any exception into a valid "other", so a
property test through it would pass on a crash. The safety net itself is tested in test_nlp_contract.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nlp import CATEGORIES, FAQ_TOPICS, LANGS, SENTIMENTS, URGENCIES, Analysis, Analyzer

NOW = datetime(2025, 12, 20, 2, 0, tzinfo=timezone.utc)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

_pieces = st.sampled_from([
    "明天", "大床房", "两晚", "坏了", "不", "没有", "谢谢", "取消", "?", "！", "1208", "下午两点", "8pm", "Dec 24",
    "<script>alert(1)</script>", "'; DROP TABLE guests; --", "\x00", "\u200b", "😀", "房間", "room", "not", "\n",
    "１２月２４号", "转人工", "🏨🛏️", "\ud7ff", "\t\t", "a" * 50, "٣", "ñ",
])
_texts = st.one_of(
    st.text(max_size=300),
    st.lists(_pieces, max_size=30).map("".join),
    st.lists(st.one_of(_pieces, st.text(max_size=5)), max_size=30).map(" ".join),
)


def _check(result: Analysis) -> None:
    assert result.lang in LANGS
    assert result.category in CATEGORIES
    assert 0.0 <= result.confidence <= 1.0
    assert result.sentiment in SENTIMENTS
    assert result.urgency in URGENCIES
    assert result.faq_topic is None or result.faq_topic in FAQ_TOPICS
    assert isinstance(result.escalate, bool)
    entities = result.entities
    for key in ("check_in", "check_out"):
        if key in entities:
            assert _DATE.match(entities[key])
    for key in ("nights", "guests", "rooms"):
        if key in entities:
            assert isinstance(entities[key], int) and entities[key] > 0
    if "time" in entities:
        assert _TIME.match(entities["time"])
    if "check_in" in entities and "check_out" in entities:
        assert entities["check_out"] > entities["check_in"]
    assert all(isinstance(k, str) for k in result.keywords)
    json.dumps(result.to_dict(), ensure_ascii=False)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_texts)
def test_any_text_gives_a_valid_analysis(analyzer: Analyzer, text: str) -> None:
    _check(analyzer.analyze_strict(text, now=NOW))
    assert isinstance(analyzer.search_tokens_strict(text), list)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_texts, now=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)))
def test_deterministic_given_now(analyzer: Analyzer, text: str, now: datetime) -> None:
    assert analyzer.analyze_strict(text, now=now) == analyzer.analyze_strict(text, now=now)


def test_huge_and_hostile_inputs(analyzer: Analyzer) -> None:
    for text in [
        "空调坏了" * 5000,  # 20 000 characters
        "a" * 20000,
        "<html><body>" + "<div>房间</div>" * 2000 + "</body></html>",
        "1; SELECT * FROM guests WHERE '1'='1'; --",
        "".join(chr(c) for c in range(0, 0x3000, 7)),
        "\x00\x01\x02\x1b[31m",
        "😀" * 10000,
        "",
        "   ",
    ]:
        _check(analyzer.analyze_strict(text, now=NOW))


def test_thread_safe(analyzer: Analyzer) -> None:
    texts = ["明晚还有大床房吗", "The AC is broken", "房間冷氣壞了", "wifi密码是多少", "第三次了，太失望了"] * 40
    expected = [analyzer.analyze_strict(t, now=NOW) for t in texts]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda t: analyzer.analyze_strict(t, now=NOW), texts))
    assert got == expected
