"""The nlp contract other layers rely on: fields, codes, the issue's worked examples, the safety net.

Examples go through `analyze_strict`: through `analyze` a crash would come back as a valid "other"
and pass every example whose answer is "other" or "neutral".
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

import pytest

from nlp import CATEGORIES, FAQ_TOPICS, Analysis, Analyzer

NOW = datetime(2025, 12, 20, 2, 0, tzinfo=timezone.utc)  # Saturday 10:00 in Shanghai


def test_categories_are_exactly_the_contract() -> None:
    assert CATEGORIES == ("booking", "booking_change", "cancellation", "housekeeping", "maintenance", "food_beverage",
                          "front_desk", "billing", "complaint", "praise", "faq", "other")


def test_to_dict_is_json_ready_and_complete(analyzer: Analyzer) -> None:
    result = analyzer.analyze("明晚还有大床房吗？两个人住两晚", now=NOW)
    assert isinstance(result, Analysis)
    data = result.to_dict()
    assert set(data) == {"lang", "category", "confidence", "sentiment", "urgency", "entities", "keywords",
                         "preferences", "faq_topic", "escalate"}
    json.dumps(data, ensure_ascii=False)
    assert data["entities"] == {"check_in": "2025-12-21", "check_out": "2025-12-23", "nights": 2, "guests": 2,
                                "room_type": "king"}


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("第三次打电话了，空调还是没人来修，太失望了", "complaint"),
        ("不需要打扫", "housekeeping"),
        ("今天不用打扫房间，谢谢", "housekeeping"),
        ("no housekeeping today thanks", "housekeeping"),
        ("没有热水", "maintenance"),
        ("wifi连不上", "maintenance"),
        ("wifi密码是多少", "faq"),
        ("早餐送到房间", "food_beverage"),
        ("早餐几点开始", "faq"),
        ("我要退房", "front_desk"),
        ("几点退房", "faq"),
        ("请帮我开发票", "billing"),
        ("我要取消订单", "cancellation"),
        ("想续住一晚", "booking_change"),
        ("谢谢你们，服务很周到", "praise"),
        ("你好", "other"),
    ],
)
def test_issue_examples(analyzer: Analyzer, text: str, category: str) -> None:
    assert analyzer.analyze_strict(text, now=NOW).category == category


def test_languages(analyzer: Analyzer) -> None:
    assert analyzer.analyze_strict("房间的空调坏了").lang == "zh-Hans"
    assert analyzer.analyze_strict("房間的冷氣壞了").lang == "zh-Hant"
    assert analyzer.analyze_strict("The AC is broken").lang == "en"
    assert analyzer.analyze_strict("wifi密码是多少").lang == "zh-Hans"
    assert analyzer.analyze_strict("Hi, can I get two towels please 谢谢").lang == "en"


def test_traditional_is_understood_like_simplified(analyzer: Analyzer) -> None:
    trad = analyzer.analyze_strict("房間冷氣壞了，快派人來修", now=NOW)
    simp = analyzer.analyze_strict("房间冷气坏了，快派人来修", now=NOW)
    assert trad.category == simp.category == "maintenance"
    assert trad.sentiment == simp.sentiment


@pytest.mark.parametrize(
    ("text", "preferences"),
    [
        ("枕头太高了", {"pillow": "low"}),
        ("要无烟房", {"smoking": "no"}),
        ("高楼层安静一点", {"floor": "high", "quiet": "yes"}),
        ("I'm vegetarian", {"diet": "vegetarian"}),
        ("不要高楼层", {"floor": "low"}),
    ],
)
def test_preferences(analyzer: Analyzer, text: str, preferences: dict[str, str]) -> None:
    assert analyzer.analyze_strict(text).preferences == preferences


def test_faq_topic_only_for_faq(analyzer: Analyzer) -> None:
    faq = analyzer.analyze_strict("停车场在哪里")
    assert faq.category == "faq" and faq.faq_topic == "parking"
    assert analyzer.analyze_strict("Is the gym open 24 hours?").faq_topic == "gym"
    assert analyzer.analyze_strict("空调坏了").faq_topic is None
    assert set(FAQ_TOPICS) >= {"breakfast", "wifi", "parking", "gym", "pool", "pets", "address", "airport_transfer",
                               "check_in_out"}


def test_escalation(analyzer: Analyzer) -> None:
    assert analyzer.analyze_strict("转人工").escalate
    assert analyzer.analyze_strict("I want to talk to a human").escalate
    assert analyzer.analyze_strict("叫你们经理来").escalate
    assert not analyzer.analyze_strict("不用转人工，谢谢").escalate
    assert not analyzer.analyze_strict("送两条毛巾").escalate


def test_urgency(analyzer: Analyzer) -> None:
    assert analyzer.analyze_strict("卫生间漏水了，快来人").urgency == "high"
    assert analyzer.analyze_strict("emergency, water everywhere, flooding").urgency == "high"
    assert analyzer.analyze_strict("不急，有空的时候送两个衣架").urgency == "low"
    assert analyzer.analyze_strict("送两条毛巾").urgency == "normal"


def test_sentiment(analyzer: Analyzer) -> None:
    assert analyzer.analyze_strict("房间很干净，服务很好").sentiment == "positive"
    assert analyzer.analyze_strict("房间不干净，服务很差").sentiment == "negative"
    assert analyzer.analyze_strict("请送两条毛巾").sentiment == "neutral"


def test_confidence_is_lower_when_unsure(analyzer: Analyzer) -> None:
    sure = analyzer.analyze_strict("空调坏了，不制冷")
    unsure = analyzer.analyze_strict("嗯那个就是")
    assert 0.0 <= unsure.confidence < 0.5 <= sure.confidence <= 1.0


def test_dates_only_become_stay_dates_when_they_are_about_a_stay(analyzer: Analyzer) -> None:
    # the wake-up call's day is the day a service is wanted, not a check-in
    assert analyzer.analyze_strict("明早7点叫醒我", now=NOW).entities == {"time": "07:00", "date": "2025-12-21"}
    assert analyzer.analyze_strict("明天退房，想寄存行李", now=NOW).entities == {"check_out": "2025-12-21"}


def test_naive_now_is_utc(analyzer: Analyzer) -> None:
    # 2025-12-20 17:00 UTC is already 2025-12-21 01:00 in Shanghai
    result = analyzer.analyze_strict("今晚有房吗", now=datetime(2025, 12, 20, 17, 0))
    assert result.entities["check_in"] == "2025-12-21"


def test_search_tokens(analyzer: Analyzer) -> None:
    assert "空调" in analyzer.search_tokens_strict("房間的空調壞了")
    assert analyzer.search_tokens_strict("Towels, please!") == ["towel", "pleas"]
    assert analyzer.search_tokens_strict("") == []


def test_analyze_is_analyze_strict_when_nothing_fails(analyzer: Analyzer) -> None:
    for text in ("明晚还有大床房吗？两个人住两晚", "The AC is broken!!", "你好"):
        assert analyzer.analyze(text, now=NOW) == analyzer.analyze_strict(text, now=NOW)
    assert analyzer.search_tokens("房間的空調壞了") == analyzer.search_tokens_strict("房間的空調壞了")


def _explode(text: str, now: datetime | None = None) -> None:
    raise KeyError(text)  # an exception whose message quotes the input, as real ones do


def test_safety_net_answers_other_and_logs_without_the_text(
        analyzer: Analyzer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    text = "我在1208房，电话13812345678"
    monkeypatch.setattr(analyzer, "analyze_strict", _explode)
    monkeypatch.setattr(analyzer, "search_tokens_strict", _explode)
    with caplog.at_level(logging.ERROR, logger="nlp.analyzer"):
        result = analyzer.analyze(text, now=NOW)
        tokens = analyzer.search_tokens(text)
    assert result == Analysis(lang="en", category="other", confidence=0.0, sentiment="neutral", urgency="normal")
    assert tokens == []
    first, second = caplog.records
    assert first.getMessage().startswith(f"analysis failed: KeyError on input of {len(text)} characters")
    assert second.getMessage().startswith(f"search_tokens failed: KeyError on input of {len(text)} characters")
    assert "_explode" in first.getMessage()  # the traceback says where
    assert "13812345678" not in caplog.text and "1208" not in caplog.text


def test_analyze_strict_raises(analyzer: Analyzer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(analyzer._scanner, "scan", _explode)
    with pytest.raises(KeyError):
        analyzer.analyze_strict("你好")
    assert analyzer.analyze("你好").category == "other"
