"""The result type of `Analyzer.analyze` and the closed vocabularies it uses.

Handlers, the CRM and the dashboard all read these codes, so they are constants here rather than strings
scattered through the code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CATEGORIES: tuple[str, ...] = (
    "booking",
    "booking_change",
    "cancellation",
    "housekeeping",
    "maintenance",
    "food_beverage",
    "front_desk",
    "billing",
    "complaint",
    "praise",
    "faq",
    "other",
)
LANGS: tuple[str, ...] = ("zh-Hans", "zh-Hant", "en")
SENTIMENTS: tuple[str, ...] = ("negative", "neutral", "positive")
URGENCIES: tuple[str, ...] = ("low", "normal", "high")
FAQ_TOPICS: tuple[str, ...] = (
    "breakfast",
    "wifi",
    "parking",
    "gym",
    "pool",
    "pets",
    "address",
    "airport_transfer",
    "check_in_out",
    "phone",
    "rating",
    "hotel_type",
    "facilities",
    "laundry",
    "smoking",
)
ENTITY_KEYS: tuple[str, ...] = (
    "check_in",
    "check_out",
    "date",  # the day a service is wanted, when it is no stay date ("明天送早餐")
    "nights",
    "guests",
    "rooms",
    "room_type",
    "room_number",
    "time",
    "phone",
    "booking_ref",
)


@dataclass(frozen=True, slots=True)
class Analysis:
    """What one guest message means, as far as keywords can tell.

    Frozen so a cached or shared result cannot be changed by one consumer behind another's back.
    `confidence` is calibrated on the development set: below ~0.5 the top category is wrong often enough
    that the message should go to a person.
    """

    lang: str
    category: str
    confidence: float
    sentiment: str
    urgency: str
    entities: dict[str, Any] = field(default_factory=dict)
    keywords: list[str] = field(default_factory=list)
    preferences: dict[str, str] = field(default_factory=dict)
    faq_topic: str | None = None
    escalate: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready copy (new containers, so callers may mutate it freely)."""
        return {
            "lang": self.lang,
            "category": self.category,
            "confidence": self.confidence,
            "sentiment": self.sentiment,
            "urgency": self.urgency,
            "entities": dict(self.entities),
            "keywords": list(self.keywords),
            "preferences": dict(self.preferences),
            "faq_topic": self.faq_topic,
            "escalate": self.escalate,
        }
