"""Contact rules: consent, quiet hours and the weekly cap — the difference between service and pestering.

Marketing (birthday, holiday, re-engagement) needs recorded consent and counts against a weekly cap;
transactional messages about a stay (pre-arrival, post-stay survey) do not. Every proactive message
respects quiet hours in the guest's own time zone: it is deferred to the end of the quiet window, not
dropped.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, time, timedelta, tzinfo

MARKETING_PREFIXES = ("birthday:", "holiday:", "reengage:")
CAP_WINDOW = timedelta(days=7)


def in_quiet_hours(local: time, start: time, end: time) -> bool:
    if start == end:
        return False
    if start < end:  # e.g. 13:00–14:00
        return start <= local < end
    return local >= start or local < end  # wraps midnight, e.g. 22:00–08:00


def defer_for_quiet_hours(moment: datetime, zone: tzinfo, start: time, end: time) -> datetime:
    """``moment`` itself, or the end of the quiet window it falls in (UTC)."""
    local = moment.astimezone(zone)
    if not in_quiet_hours(local.time(), start, end):
        return moment
    day = local.date()
    if start > end and local.time() >= start:  # late evening: quiet ends tomorrow morning
        day += timedelta(days=1)
    return datetime.combine(day, end, tzinfo=zone).astimezone(UTC)


class WeeklyCap:
    """Marketing messages per guest in the last seven days, counted from the outbox plus this run."""

    def __init__(self, limit: int, already: dict[int, int]) -> None:
        self.limit = limit
        self._counts: Counter[int] = Counter(already)

    def allows(self, guest_id: int) -> bool:
        return self._counts[guest_id] < self.limit

    def take(self, guest_id: int) -> None:
        self._counts[guest_id] += 1
