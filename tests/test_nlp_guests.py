"""Guests' own wording, through the web chat: FAQ topics as people ask them, a question about a service versus
a request for it, out-of-scope questions, and the README's room-service example."""

from __future__ import annotations

from datetime import datetime

import aiohttp
import pytest
from sqlmodel import select

from bot.app import Concierge
from crm.models import Ticket
from nlp import Analyzer
from tests.flow_helpers import WebGuest


async def _tickets(app: Concierge) -> list[Ticket]:
    async with app.db.read() as session:
        return list((await session.execute(select(Ticket).order_by(Ticket.id))).scalars())


async def test_faq_topics_as_guests_ask_them(web_bot: Concierge, client: aiohttp.ClientSession) -> None:
    english = WebGuest(web_bot, client, "faq-en", lang="en")
    assert "+86 21 0000 0000" in await english.say("Could you give me their contact number?")
    assert "four-star" in await english.say("How many stars does the hotel have?")
    assert "non-smoking" in await english.say("Can I smoke in my room?")
    assert "1000 West Nanjing Road" in await english.say("What's the postcode and street address?")
    chinese = WebGuest(web_bot, client, "faq-zh")
    assert "叫醒服务" in await chinese.say("你们有没有叫醒服务？")
    assert "四星级" in await chinese.say("这是一家什么类型的酒店")
    assert await _tickets(web_bot) == []  # questions are answered, nobody is sent anywhere


async def test_laundry_question_is_answered_and_laundry_request_is_a_ticket(
    web_bot: Concierge, client: aiohttp.ClientSession
) -> None:
    guest = WebGuest(web_bot, client, "laundry", lang="en")
    assert "dry cleaning" in await guest.say("Is laundry service available?")
    assert await _tickets(web_bot) == []
    await guest.say("Please pick up my laundry from room 1506")
    [ticket] = await _tickets(web_bot)
    assert (ticket.category, ticket.room_number) == ("housekeeping", "1506")


async def test_room_service_for_tomorrow_afternoon(web_bot: Concierge, client: aiohttp.ClientSession) -> None:
    guest = WebGuest(web_bot, client, "breakfast")
    await guest.say("明天下午两点送早餐到1203")
    [ticket] = await _tickets(web_bot)
    assert (ticket.category, ticket.room_number) == ("food_beverage", "1203")


async def test_out_of_scope_is_unsure_and_soon_offers_a_person(
    web_bot: Concierge, client: aiohttp.ClientSession
) -> None:
    """Car and bank questions are no booking change or bill: `other`, unsure, so the second one offers a person
    (offered, not forced: nothing is filed until the guest asks)."""
    for text in ("how do I change the oil in my car", "what's the apr on my credit card", "find me a good mechanic"):
        analysis = web_bot.analyzer.analyze(text)
        assert analysis.category == "other" and analysis.confidence < 0.5, (text, analysis)
    guest = WebGuest(web_bot, client, "oos", lang="en")
    await guest.say("how do I change the oil in my car")
    assert await _tickets(web_bot) == []
    await guest.say("what's the apr on my credit card")
    assert "handoff" in guest.buttons and await _tickets(web_bot) == []  # no booking change, no bill
    await guest.press("handoff")
    [handoff] = await _tickets(web_bot)
    assert handoff.category == "other"


FRIDAY = datetime.fromisoformat("2030-03-01T10:00:00+08:00")  # Friday 1 March 2030 in the hotel's zone


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a stay worded in days is a stay
        ("I will be staying for six days", {"nights": 6}),
        ("we need a room for a 3-day trip", {"nights": 3}),
        ("我们想住五天", {"nights": 5}),
        ("三天后到，住两晚", {"nights": 2}),
        ("12月3日入住，两个人", {"nights": None, "guests": 2, "check_in": "2030-12-03"}),  # 3日 is a date, not 3 days
        ("住3日", {"nights": 3}),
        ("see you in 3 days", {"nights": None}),
        ("how much is it a night?", {"nights": None}),
        # party sizes as people say them
        ("There are six in my party", {"guests": 6}),
        ("8 people for 3 nights", {"guests": 8, "nights": 3}),
        ("a party of 4 next weekend", {"guests": 4}),
        ("there will be three of us", {"guests": 3}),
        ("我们三个人", {"guests": 3}),
        ("两大一小", {"guests": 3}),
        ("我有一个朋友推荐了你们", {"guests": None}),
        # check-in and check-out in one sentence, until / till, check-out on a weekday next week
        ("check in on the 1st and leave on March 6th", {"check_in": "2030-03-01", "check_out": "2030-03-06"}),
        ("Checking in tomorrow and departing on the 3rd", {"check_in": "2030-03-02", "check_out": "2030-03-03"}),
        ("I'll need it until the 11th", {"check_out": "2030-03-11", "check_in": None}),
        ("we stay till the 9th", {"check_out": "2030-03-09"}),
        ("I want to check out Friday next week", {"check_out": "2030-03-08"}),
        ("12号入住，15号退房", {"check_in": "2030-03-12", "check_out": "2030-03-15"}),
        # the late check-out i15b's handler reads: its day and time
        ("明天可以延遲退房到下午兩點嗎", {"check_out": "2030-03-02", "time": "14:00"}),
        # a service's day
        ("明天下午两点送早餐到1203", {"date": "2030-03-02", "time": "14:00", "room_number": "1203", "check_in": None}),
    ],
)
def test_entities_as_guests_word_them(analyzer: Analyzer, text: str, expected: dict) -> None:
    found = analyzer.analyze_strict(text, now=FRIDAY).entities
    assert {key: found.get(key) for key in expected} == expected


@pytest.mark.parametrize(
    ("text", "category", "topic"),
    [
        ("What's their phone number?", "faq", "phone"),
        ("how can I contact the hotel", "faq", "phone"),
        ("酒店的联系电话是多少", "faq", "phone"),
        ("what is the postcode", "faq", "address"),
        ("他们的邮政编码是什么？", "faq", "address"),
        ("What's the star rating?", "faq", "rating"),
        ("这家酒店是几星级的", "faq", "rating"),
        ("what type of hotel is it", "faq", "hotel_type"),
        ("有没有叫醒服务", "faq", "facilities"),
        ("what facilities do you have", "faq", "facilities"),
        ("Is laundry service available?", "faq", "laundry"),
        ("is smoking allowed?", "faq", "smoking"),
        ("Sounds great, can you send me their address?", "faq", "address"),
        ("please pick up my laundry", "housekeeping", None),
        ("明早7点叫醒我", "front_desk", None),
        ("明天下午两点送早餐到1203", "food_beverage", None),
        ("Perfect, book it for two people", "booking", None),
        ("find me a hotel in Paris with good reviews", "booking", None),
        ("hotels with good reviews", "booking", None),  # a search, not praise
        ("I need a place to stay in the north with free wifi", "booking", None),
        ("wifi password", "faq", "wifi"),  # a hotel topic said alone is no out-of-scope question
        ("parking", "faq", "parking"),
        ("请再送一瓶水", "housekeeping", None),  # a delivery, whatever is delivered
        ("我的订单号是 AB12CD34", "booking_change", None),  # a reference anchors a terse message to the hotel
        ("what's the best way to learn piano", "other", None),
        ("how do I jump start my car", "other", None),
    ],
)
def test_categories_as_guests_word_them(analyzer: Analyzer, text: str, category: str, topic: str | None) -> None:
    analysis = analyzer.analyze_strict(text, now=FRIDAY)
    assert (analysis.category, analysis.faq_topic) == (category, topic)
