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
    """When the lifecycle campaigns run and how often a guest may be contacted."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scheduler: bool = Field(default=True, description=(
        "run the lifecycle scheduler in this process; only the process holding the leader lock runs it, the "
        "others stand by (false keeps a process out of the election)"))
    pre_arrival_time: time = Field(default=time(10, 0), description=(
        "hotel time, the day before check-in: the pre-arrival message"))
    post_stay_hours: float = Field(default=3.0, ge=0, le=72, description=(
        "hours after the check-out time on the check-out day: thanks and the CSAT/NPS survey"))
    birthday_time: time = Field(default=time(9, 0), description=(
        "the guest's own time (their zone when known) for the birthday greeting"))
    holiday_time: time = Field(default=time(10, 0), description="the guest's own time for holiday greetings")
    holidays: list[HolidayCode] = Field(default_factory=lambda: list(ALL_HOLIDAYS),
                                        description="which holidays get a greeting")
    reengage_after_days: int = Field(default=180, ge=7, description=(
        "days after a guest's last stay before the re-engagement message"))
    reengage_time: time = Field(default=time(11, 0), description=(
        "the guest's own time for the re-engagement message"))
    weekly_marketing_cap: int = Field(default=2, ge=0, description=(
        "marketing messages (birthday, holiday, re-engagement) per guest in any 7 days"))
    sweep_minutes: int = Field(default=10, ge=1, le=60, description=(
        "how often the campaign sweeps look for what is due now"))
    sla_sweep_seconds: int = Field(default=60, ge=10, description=(
        "how often the SLA sweep checks open tickets and escalates overdue ones; it also gives back "
        "conversations whose staff fell silent and tells waiting guests when the first answer runs late"))
    nightly_time: time = Field(default=time(3, 0), description=(
        "hotel time of the nightly run: loyalty points, tiers, RFM segments and the customer pyramid, then "
        "the retention purge"))
    misfire_grace_hours: float = Field(default=12, gt=0, description=(
        "a run missed while no process was up still fires once, late, if it is at most this many hours overdue"))
    batch_size: int = Field(default=5000, ge=100, description=(
        "campaign rows written per transaction when a campaign is planned"))
    points_per_night: int = Field(default=100, ge=0, description=(
        "loyalty points per night of a completed stay, credited nightly"))

    @field_validator(
        "pre_arrival_time", "birthday_time", "holiday_time", "reengage_time", "nightly_time", mode="before"
    )
    @classmethod
    def _time(cls, value: Any) -> time:
        return parse_hhmm(value)
