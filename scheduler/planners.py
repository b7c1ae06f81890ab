"""Campaign planners: pure "which messages fall due between ``start`` and ``end``" over the store.

A planner reads and returns ``Item``s; it never writes. The runner applies the contact rules and writes
the outbox. Because every planner answers for a time window rather than for "today", the same code serves
the periodic sweep (window: the recent past up to now, so a missed run is caught up), the dry-run preview
(window: one hotel day) and the time-travel tests (any ``now``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from sqlalchemy.ext.asyncio import AsyncSession

from crm import campaigns as store
from crm.campaigns import Contact
from crm.models import Preference
from scheduler.calendar import birthday_year, days, holiday_date
from scheduler.config import CampaignSettings
from scheduler.context import CampaignContext, at_local, guest_zone, local_day


@dataclass(frozen=True)
class ButtonSpec:
    label_key: str
    value: str  # "{record}" is replaced by the id of the survey / stay preparation written with the row
    label_values: dict[str, object] = field(default_factory=dict)


@dataclass
class Item:
    """One message that is due: to whom, when, under which dedupe key, with which words."""

    campaign: str
    dedupe_key: str
    contact: Contact
    due_at: datetime
    expires_at: datetime
    zone: tzinfo
    locale: str
    key: str
    values: dict[str, object] = field(default_factory=dict)
    buttons: tuple[ButtonSpec, ...] = ()
    marketing: bool = False
    record: str | None = None  # "survey" | "prep": a row to create with the message
    booking_id: int | None = None
    preferences: list[dict[str, str]] = field(default_factory=list)

    @property
    def guest_id(self) -> int:
        return self.contact.guest_id


Finder = Callable[[AsyncSession, CampaignContext, datetime, datetime], Awaitable[list[Item]]]


@dataclass(frozen=True)
class Campaign:
    name: str
    marketing: bool
    lookback: Callable[[CampaignSettings], timedelta]  # how late a missed message is still worth sending
    find: Finder


def _dates(start: datetime, end: datetime, zone: tzinfo, pad: int = 0) -> list[date]:
    return days(local_day(start, zone) - timedelta(days=pad), local_day(end, zone) + timedelta(days=pad))


def _in(start: datetime, moment: datetime, end: datetime) -> bool:
    return start <= moment < end


def _name(contact: Contact, locale: str, ctx: CampaignContext) -> str:
    return contact.name.strip() or ctx.text(locale, "campaign.guest")


def _remembered(ctx: CampaignContext, locale: str, preferences: list[Preference]) -> list[dict[str, str]]:
    """Stay preferences we can name in the guest's language (the chosen language is not one of them)."""
    found: list[dict[str, str]] = []
    for preference in preferences:
        key = f"campaign.pref.{preference.key}.{preference.value}"
        text = ctx.text(locale, key)
        if text != key:  # the catalog answers with the key itself when it has no wording
            found.append({"key": preference.key, "value": preference.value, "text": text})
    return found[:5]


def _time(moment: time) -> str:
    return moment.strftime("%H:%M")


# --- transactional ------------------------------------------------------------------------------------


async def find_pre_arrival(session: AsyncSession, ctx: CampaignContext, start: datetime, end: datetime) -> list[Item]:
    """The day before check-in at 10:00 hotel time: arrival facts and the preferences we remember."""
    settings = ctx.settings
    dates = _dates(start, end, ctx.zone)
    bookings = await store.bookings_between(
        session, "check_in", dates[0] + timedelta(days=1), dates[-1] + timedelta(days=1), ("confirmed",)
    )
    guests = await store.contacts(session, ctx.push_channels, guest_ids={b.guest_id for b in bookings if b.guest_id})
    preferences = await store.preferences_by_guest(session, sorted(guests))
    items: list[Item] = []
    for booking in bookings:
        contact = guests.get(booking.guest_id or 0)
        if contact is None or booking.id is None:
            continue
        due = at_local(booking.check_in - timedelta(days=1), settings.pre_arrival_time, ctx.zone)
        if not _in(start, due, end):
            continue
        locale = ctx.locale(contact.language)
        remembered = _remembered(ctx, locale, preferences.get(contact.guest_id, []))
        separator = ", " if locale == "en" else "、"
        values: dict[str, object] = {
            "name": _name(contact, locale, ctx),
            "hotel": ctx.hotel(locale),
            "date": booking.check_in.isoformat(),
            "check_in_time": _time(ctx.check_in_time),
            "address": ctx.address.get(locale, ""),
            "reference": booking.reference,
            "preferences": separator.join(p["text"] for p in remembered),
        }
        buttons: tuple[ButtonSpec, ...] = ()
        if remembered:
            buttons = (
                ButtonSpec("campaign.pre_arrival.yes", "prearrival:yes:{record}"),
                ButtonSpec("campaign.pre_arrival.no", "prearrival:no:{record}"),
            )
        items.append(Item(
            campaign="pre_arrival",
            dedupe_key=f"prearrival:{booking.id}",
            contact=contact,
            due_at=due,
            expires_at=at_local(booking.check_in, ctx.check_in_time, ctx.zone),
            zone=guest_zone(contact.timezone, ctx.zone),
            locale=locale,
            key="campaign.pre_arrival.prefs" if remembered else "campaign.pre_arrival",
            values=values,
            buttons=buttons,
            record="prep" if remembered else None,
            booking_id=booking.id,
            preferences=remembered,
        ))
    return items


SURVEY_WINDOW = timedelta(days=2)  # a survey asked later than this is about a stay the guest has forgotten


async def find_post_stay(session: AsyncSession, ctx: CampaignContext, start: datetime, end: datetime) -> list[Item]:
    """Three hours after the check-out time on the check-out day: thanks and the CSAT question."""
    delay = timedelta(hours=ctx.settings.post_stay_hours)
    dates = days(local_day(start - delay, ctx.zone) - timedelta(days=1), local_day(end - delay, ctx.zone))
    bookings = await store.bookings_between(
        session, "check_out", dates[0], dates[-1], ("confirmed", "checked_in", "checked_out")
    )
    guests = await store.contacts(session, ctx.push_channels, guest_ids={b.guest_id for b in bookings if b.guest_id})
    items: list[Item] = []
    for booking in bookings:
        contact = guests.get(booking.guest_id or 0)
        if contact is None or booking.id is None:
            continue
        due = at_local(booking.check_out, ctx.check_out_time, ctx.zone) + delay
        if not _in(start, due, end):
            continue
        locale = ctx.locale(contact.language)
        items.append(Item(
            campaign="post_stay",
            dedupe_key=f"survey:{booking.id}",
            contact=contact,
            due_at=due,
            expires_at=due + SURVEY_WINDOW,
            zone=guest_zone(contact.timezone, ctx.zone),
            locale=locale,
            key="campaign.post_stay",
            values={"name": _name(contact, locale, ctx), "hotel": ctx.hotel(locale)},
            buttons=tuple(
                ButtonSpec("survey.csat.button", f"survey:csat:{{record}}:{score}", {"n": score})
                for score in range(1, 6)
            ),
            record="survey",
            booking_id=booking.id,
        ))
    return items


# --- marketing ----------------------------------------------------------------------------------------


async def find_birthdays(session: AsyncSession, ctx: CampaignContext, start: datetime, end: datetime) -> list[Item]:
    """09:00 in the guest's zone on the solar or lunar birthday, as the guest celebrates it."""
    moment = ctx.settings.birthday_time
    items: list[Item] = []
    for contact in (await store.contacts(session, ctx.push_channels, with_birthday=True)).values():
        assert contact.birthday is not None
        zone = guest_zone(contact.timezone, ctx.zone)
        for day in _dates(start, end, zone):
            year = birthday_year(contact.birthday, contact.birthday_lunar, day)
            if year is None:
                continue
            due = at_local(day, moment, zone)
            if not _in(start, due, end):
                continue
            locale = ctx.locale(contact.language)
            items.append(Item(
                campaign="birthday",
                dedupe_key=f"birthday:{contact.guest_id}:{year}",
                contact=contact,
                due_at=due,
                expires_at=at_local(day, ctx.quiet_start, zone) if ctx.quiet_start > moment else at_local(day + timedelta(days=1), time(0), zone),
                zone=zone,
                locale=locale,
                key="campaign.birthday.lunar" if contact.birthday_lunar else "campaign.birthday",
                values={"name": _name(contact, locale, ctx), "hotel": ctx.hotel(locale)},
                marketing=True,
            ))
    return items


async def find_holidays(session: AsyncSession, ctx: CampaignContext, start: datetime, end: datetime) -> list[Item]:
    """The configured holidays, at the greeting time in each guest's zone on the (computed) date."""
    moment = ctx.settings.holiday_time
    window = _dates(start, end, ctx.zone, pad=1)  # zones east and west of the hotel
    holidays = [
        (code, day) for year in {d.year for d in window} for code in ctx.settings.holidays
        if (day := holiday_date(code, year)) in window
    ]
    if not holidays:
        return []
    items: list[Item] = []
    due_at: dict[tuple[object, date], datetime] = {}  # most guests share a handful of zones
    for contact in (await store.contacts(session, ctx.push_channels)).values():
        zone = guest_zone(contact.timezone, ctx.zone)
        for code, day in holidays:
            due = due_at.get((zone, day))
            if due is None:
                due = due_at[(zone, day)] = at_local(day, moment, zone)
            if not _in(start, due, end):
                continue
            locale = ctx.locale(contact.language)
            items.append(Item(
                campaign="holiday",
                dedupe_key=f"holiday:{code}:{day.year}:{contact.guest_id}",
                contact=contact,
                due_at=due,
                expires_at=at_local(day + timedelta(days=1), time(0), zone),
                zone=zone,
                locale=locale,
                key=f"campaign.holiday.{code}",
                values={"name": _name(contact, locale, ctx), "hotel": ctx.hotel(locale)},
                marketing=True,
            ))
    return items


REENGAGE_WINDOW = timedelta(days=30)


async def find_reengagement(session: AsyncSession, ctx: CampaignContext, start: datetime, end: datetime) -> list[Item]:
    """Guests whose last stay ended ``reengage_after_days`` ago and who have nothing booked."""
    after = timedelta(days=ctx.settings.reengage_after_days)
    today = local_day(end, ctx.zone)
    stays = await store.last_stays(session, today)
    booked = await store.future_bookers(session, today)
    candidates = [guest for guest, last in stays.items() if guest not in booked and last + after <= today + timedelta(days=1)]
    guests = await store.contacts(session, ctx.push_channels, guest_ids=candidates)
    items: list[Item] = []
    for guest_id in candidates:
        contact = guests.get(guest_id)
        if contact is None:
            continue
        last = stays[guest_id]
        zone = guest_zone(contact.timezone, ctx.zone)
        due = at_local(last + after, ctx.settings.reengage_time, zone)
        if not _in(start, due, end):
            continue
        locale = ctx.locale(contact.language)
        items.append(Item(
            campaign="reengage",
            dedupe_key=f"reengage:{guest_id}:{last.isoformat()}",
            contact=contact,
            due_at=due,
            expires_at=due + REENGAGE_WINDOW,
            zone=zone,
            locale=locale,
            key="campaign.reengage",
            values={"name": _name(contact, locale, ctx), "hotel": ctx.hotel(locale)},
            marketing=True,
        ))
    return items


CAMPAIGNS: dict[str, Campaign] = {
    campaign.name: campaign
    for campaign in (
        Campaign("pre_arrival", False, lambda s: timedelta(hours=30), find_pre_arrival),
        Campaign("post_stay", False, lambda s: SURVEY_WINDOW, find_post_stay),
        Campaign("birthday", True, lambda s: timedelta(hours=24), find_birthdays),
        Campaign("holiday", True, lambda s: timedelta(hours=24), find_holidays),
        Campaign("reengage", True, lambda s: REENGAGE_WINDOW, find_reengagement),
    )
}
