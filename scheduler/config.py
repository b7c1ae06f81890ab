"""The ``campaigns:`` section of config.yaml: which campaigns run, when, and how often a guest may be contacted.

Kept next to the code that reads it so that bot/config.py only has to embed one model; every value has a
sensible default, so a hotel that writes nothing gets the standard touchpoints.
"""

from __future__ import annotations

import re
from datetime import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

HolidayCode = Literal[
    "new_year", "spring_festival", "lantern", "dragon_boat", "mid_autumn", "national_day", "christmas"
]
ALL_HOLIDAYS: tuple[HolidayCode, ...] = (
    "new_year", "spring_festival", "lantern", "dragon_boat", "mid_autumn", "national_day", "christmas"
)
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def parse_hhmm(value: Any) -> time:
    """A time of day from config: '09:00' (or the integer YAML 1.1 makes of an unquoted 09:00)."""
    if isinstance(value, time):
        return value
    if isinstance(value, int):  # YAML 1.1 reads 09:00 unquoted as a sexagesimal integer
        value = f"{value // 60:02d}:{value % 60:02d}"
    if isinstance(value, str) and _HHMM.match(value.strip()):
        hours, minutes = value.strip().split(":")
        return time(int(hours), int(minutes))
    raise ValueError(f"expected a 24-hour time like '09:00', got {value!r}")


class CampaignSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    scheduler: bool = True  # run APScheduler in `concierge run`; off for a second worker on the same database
    pre_arrival_time: time = time(10, 0)  # hotel time, the day before check-in
    post_stay_hours: float = Field(default=3.0, ge=0, le=72)  # after the check-out time on the check-out day
    birthday_time: time = time(9, 0)  # guest's time
    holiday_time: time = time(10, 0)  # guest's time
    holidays: list[HolidayCode] = Field(default_factory=lambda: list(ALL_HOLIDAYS))
    reengage_after_days: int = Field(default=180, ge=7)
    reengage_time: time = time(11, 0)  # guest's time
    weekly_marketing_cap: int = Field(default=2, ge=0)
    sweep_minutes: int = Field(default=10, ge=1, le=60)  # how often the "what is due now" sweeps run
    sla_sweep_seconds: int = Field(default=60, ge=10)
    nightly_time: time = time(3, 0)  # hotel time: segments, tiers, points
    misfire_grace_hours: float = Field(default=12, gt=0)
    batch_size: int = Field(default=5000, ge=100)
    points_per_night: int = Field(default=100, ge=0)

    @field_validator(
        "pre_arrival_time", "birthday_time", "holiday_time", "reengage_time", "nightly_time", mode="before"
    )
    @classmethod
    def _time(cls, value: Any) -> time:
        return parse_hhmm(value)
