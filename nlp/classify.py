"""From the evidence of the lexicon pass to a category, its confidence, an urgency and the keywords.

Category scores are the weighted cues of the lexicon, then adjusted for what the words alone get wrong:
a question about a topic is an FAQ but a request about it is not, strong sentiment pulls towards
complaint / praise, thanks for a service is praise and anger about one a complaint, and stay facts
(dates, nights, guests) are evidence of a booking conversation even without a booking verb.
"""

from __future__ import annotations

import math
from datetime import date
from operator import itemgetter
from typing import Any

from nlp.analysis import CATEGORIES
from nlp.lexicon import ROOM_TYPE_WEIGHT
from nlp.scan import Scan

BOOKING_FAMILY = frozenset({"booking", "booking_change", "cancellation"})
_BOOKING_ORDER = ("booking", "booking_change", "cancellation")
_STAY_KEYS = ("nights", "guests", "rooms", "check_in", "check_out")  # room types are lexicon terms
# FAQ topics that are facts to be told, whatever the wording ("give me their number" is no room service)
INFORMATION_TOPICS = frozenset({"phone", "address", "rating", "hotel_type"})
OUT_OF_SCOPE = "out_of_scope"  # a lexicon section, not a category: its words make a message `other`, unsure
MIN_EVIDENCE = 1.5  # below this much weight the best category is a guess: the message is out of scope
_TERSE = 6  # a message this short that names a hotel topic is asking about it ("parking", "早餐?")
_CUED_DATE = 2.5  # just under the front desk's "提前入住" / "late check-out", just over its plain "check in"
_TOPIC_CATS = frozenset(CATEGORIES) - {"complaint", "praise", "other", "faq"}
# services a guest thanks for once done; "Perfect, book it" is a new booking, not thanks for one
_SERVICE_DONE = tuple(_TOPIC_CATS - BOOKING_FAMILY)
# what a request is about (a service topic or an FAQ), as opposed to an opinion or nothing
SERVICE_CATEGORIES = _TOPIC_CATS | {"faq"}


def lean_on_stay(scan: Scan, entities: dict[str, Any], today: date) -> float:
    """Stay facts are evidence of a booking conversation ("明晚两个人，标间" has no booking verb), for
    the booking-family request the words point to: "把预订改到12月26号" is a change.

    A check-in or check-out word next to a later date ("check in on the 7th", "3号退房") is about a stay
    being booked, not the front desk's check-in today; "明天可以提前入住吗" and "late check-out tomorrow" keep
    their stronger front-desk words. Returns the weight the stay added."""
    if scan.other_room and scan.cats.get("booking_change", 0.0) > 0:
        # two room types and a change word: moving from one to the other, not a new booking
        scan.cats["booking_change"] += 2 * ROOM_TYPE_WEIGHT
    stay = len([key for key in _STAY_KEYS if key in entities])  # a list: cheaper than a generator here
    if stay:
        family = max(_BOOKING_ORDER, key=lambda c: (scan.cats.get(c, 0.0), c == "booking"))
        cued = [day for key in ("check_in_explicit", "check_out_explicit")
                if (day := entities.get(key)) and day > today]
        # a number of nights is a stay on its own ("a hotel in Chicago for three nights")
        lean = min(stay, 3) * 0.7 + (0.7 if "nights" in entities else 0.0) + len(cued) * _CUED_DATE
        scan.cats[family] = scan.cats.get(family, 0.0) + lean
        return lean
    return 0.0


def decide(scan: Scan, stay: float = 0.0, units: int = 0, reference: bool = False) -> tuple[str, float]:
    """(category, confidence): the best score, confident by its margin over the second and by how much
    evidence is behind it. Too little evidence is out of scope, unless the message names a booking reference
    ("我的订单号是 AB12CD34": the guest's own booking, however few words surround it), a room, a stay (two
    facts, or a date cued as a check-in or check-out; a lone "tomorrow" is not a stay) or is a hotel topic said
    tersely ("wifi password", "早餐": `units`, Chinese characters plus English words, at most `_TERSE`)."""
    scores = _scores(scan)
    ranked = sorted([(v, c) for c, v in scores.items() if v > 0], reverse=True)  # (a list, as in `_scores`)
    if not ranked:
        return "other", 0.3
    top, category = ranked[0]
    if category == OUT_OF_SCOPE:
        # money, cars, paperwork: not the hotel's business, and not a request to guess at
        return "other", 0.2
    anchored = reference or scan.room is not None or stay >= 1.4 or (units <= _TERSE and any([w >= 2.0 for w in scan.faq.values()]))
    if top < MIN_EVIDENCE and category != "other" and not anchored and (
            scan.question or category not in ("praise", "complaint")):
        # one weak, generic word ("change", "good", "amount") is no hotel request: out of scope, and unsure; a
        # room type, a stay or a hotel topic said alone ("wifi password", "早餐") is the hotel's business
        return "other", 0.2
    second = ranked[1][0] if len(ranked) > 1 else 0.0
    margin = top / (top + second) if top + second else 0.0
    evidence = 1.0 - math.exp(-top / 1.6)
    confidence = round(max(0.05, min(0.99, margin * evidence + (0.1 if top - second >= 2 else 0.0))), 2)
    return category, confidence


def _scores(scan: Scan) -> dict[str, float]:
    """The lexicon's category weights, corrected for questions, requests and sentiment."""
    scores = dict(scan.cats)
    topic_total = sum(scan.faq.values())
    if topic_total:
        factor = 1.0 if scan.question else 0.45
        if scan.request and not scan.info_question:
            factor *= 0.5
        facts = 0.0
        if scan.request or scan.question:
            # a phone number or an address can only be told, never brought: "send me their phone number" asks
            facts = sum([weight for topic, weight in scan.faq.items() if topic in INFORMATION_TOPICS])
        scores["faq"] = scores.get("faq", 0.0) + (topic_total - facts) * factor + facts
    if scan.question and scan.info_question:
        scores["faq"] = scores.get("faq", 0.0) * 1.25
    neg = -min(scan.sentiment, 0.0)
    pos = max(scan.sentiment, 0.0)
    if neg:
        scores["complaint"] = scores.get("complaint", 0.0) + 0.6 * max(neg - 1.0, 0.0)
    if pos:
        scores["praise"] = scores.get("praise", 0.0) + 0.5 * pos
    topical = max([scores.get(c, 0.0) for c in _TOPIC_CATS])  # a list: cheaper than a generator here
    served = max([scores.get(c, 0.0) for c in _SERVICE_DONE])
    if pos >= 2.0 and pos > 2 * neg and not scan.request and not scan.question and served:
        # thanks for a service is praise, not a new request ("打扫得很干净，谢谢阿姨")
        scores["praise"] = scores.get("praise", 0.0) + 0.5 * served + 0.3 * pos
    if scores.get("complaint", 0.0) >= 2.0 and neg >= 1.5 and topical:
        # an unhappy guest talking about a service is a complaint first ("空调还是没人来修，太失望了")
        scores["complaint"] += 0.5 * topical
    if scores.get("praise", 0.0) and neg > pos:
        scores["praise"] *= 0.3
    asked = max(topical, scores.get("faq", 0.0))
    if scan.question and not asked and scores.get("praise", 0.0) and pos < 3.0:
        # "what's the best way to…", "is my card's rate good": a question about something else, not praise
        scores["praise"] *= 0.4
    pleasantry = scan.question or (scan.request and scores.get("praise", 0.0) < 1.5 * asked)
    if scores.get("praise", 0.0) and asked >= 1.5 and pleasantry:
        # "Sounds great, can I have their phone number?" / "太好了，帮我订两晚": the pleasantry opens a request
        scores["praise"] *= 0.35
    return scores


def urgency(scan: Scan, category: str) -> str:
    """An urgency cue decides; otherwise an angry complaint is urgent and questions and thanks are not."""
    if scan.urgency > 0:
        return "high"
    if scan.urgency < 0:
        return "low"
    if category in ("faq", "praise", "other"):
        return "low"
    if category == "complaint" and (scan.exclaim >= 2 or scan.sentiment <= -5):
        return "high"
    return "normal"


def faq_topic(scan: Scan, category: str) -> str | None:
    """The FAQ topic with the most weight, for an FAQ only."""
    if category == "faq" and scan.faq:
        return max(scan.faq.items(), key=lambda item: item[1])[0]
    return None


def keywords(scan: Scan, category: str, limit: int = 8) -> list[str]:
    """The terms that decided: those weighing for the chosen category, strongest first."""
    weighted: dict[str, float] = {}
    for surface, term, negated in scan.hits:
        weight = term.cats.get(category, 0.0)
        if negated:
            weight += term.negcats.get(category, 0.0)
        if category == "faq":
            weight += sum(term.faq.values())
        if category in ("complaint", "praise") and term.sent:
            weight += abs(term.sent) * 0.5
        if weight > 0 and surface:
            weighted[surface] = max(weighted.get(surface, 0.0), weight)
    # strongest first, ties in order of appearance (a reversed sort is stable too, and needs no lambda)
    return [k for k, _ in sorted(weighted.items(), key=itemgetter(1), reverse=True)[:limit]]
