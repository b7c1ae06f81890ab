"""Read-side queries for the staff dashboard: the ticket queue, conversation logs, a guest's profile,
and the figures behind the reports.

Report figures are aggregated in Python per local day of the hotel rather than with SQL date functions,
which differ between SQLite and PostgreSQL; a hotel's tickets and surveys for a quarter fit in memory.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo

from sqlalchemy import case, func, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import select

from crm.models import (
    Booking,
    ChannelIdentity,
    Guest,
    Message,
    Preference,
    StaffUser,
    Survey,
    Ticket,
    TicketEvent,
)
from crm.types import utcnow

ACTIVE = ("open", "claimed")


# --- the ticket queue ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QueueFilter:
    status: str = "active"  # active | open | claimed | resolved | closed | all
    department: str | None = None
    category: str | None = None
    priority: str | None = None
    assignee_id: int | None = None
    only_departments: tuple[str, ...] | None = None  # an agent's scope
    or_assignee: int | None = None  # …plus what is assigned to them


@dataclass(frozen=True)
class QueueRow:
    ticket: Ticket
    guest: Guest | None
    assignee: StaffUser | None


QUEUE_PAGE = 50
SEVERITY = ("urgent", "high", "normal", "low")


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue, and what the filter matches in all: counts per state (whatever state is
    chosen), how many active tickets are overdue, how many pages."""

    rows: list[QueueRow]
    page: int
    pages: int
    total: int
    counts: dict[str, int]
    overdue: int


def _scope(flt: QueueFilter) -> list[ColumnElement[bool]]:
    """Everything the filter narrows except the state, so counts per state share it."""
    conditions: list[ColumnElement[bool]] = []
    for column, value in ((Ticket.department, flt.department), (Ticket.category, flt.category),
                          (Ticket.priority, flt.priority), (Ticket.assignee_id, flt.assignee_id)):
        if value is not None:
            conditions.append(column == value)  # type: ignore[arg-type]
    if flt.only_departments is not None:
        scope: ColumnElement[bool] = Ticket.department.in_(flt.only_departments)  # type: ignore[attr-defined]
        if flt.or_assignee is not None:
            scope = scope | (Ticket.assignee_id == flt.or_assignee)  # type: ignore[assignment]
        conditions.append(scope)
    return conditions


def _overdue(now: datetime) -> ColumnElement[bool]:
    """Past its resolution time, or past its first-response time with no response yet."""
    return or_(Ticket.resolve_due < now,  # type: ignore[operator]
               (Ticket.first_response_at.is_(None)) & (Ticket.respond_due < now))  # type: ignore[union-attr,operator]


async def ticket_queue(session: AsyncSession, flt: QueueFilter, *, page: int = 1, per_page: int = QUEUE_PAGE,
                       now: datetime | None = None) -> QueuePage:
    """A page of the queue. Tickets still to do come overdue first, then by severity, then by how soon
    they fall due: after a flood of hand-offs a genuine complaint is on the first page, not behind a
    thousand older tickets. Finished ones come newest first."""
    now = now or utcnow()
    scope = _scope(flt)
    states = (await session.execute(
        select(Ticket.status, func.count()).where(*scope).group_by(Ticket.status)  # type: ignore[arg-type]
    )).all()
    counts = {status: int(count) for status, count in states}
    overdue = int((await session.execute(
        select(func.count()).select_from(Ticket).where(*scope, Ticket.status.in_(ACTIVE), _overdue(now))  # type: ignore[attr-defined]
    )).scalar_one())
    if flt.status == "active":
        scope.append(Ticket.status.in_(ACTIVE))  # type: ignore[attr-defined]
        total = sum(counts.get(status, 0) for status in ACTIVE)
    elif flt.status != "all":
        scope.append(Ticket.status == flt.status)  # type: ignore[arg-type]
        total = counts.get(flt.status, 0)
    else:
        total = sum(counts.values())
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    query = select(Ticket, Guest, StaffUser).join(Guest, Guest.id == Ticket.guest_id, isouter=True).join(  # type: ignore[arg-type]
        StaffUser, StaffUser.id == Ticket.assignee_id, isouter=True  # type: ignore[arg-type]
    ).where(*scope)
    if flt.status in ("active", "open", "claimed"):
        severity = case({level: rank for rank, level in enumerate(SEVERITY)}, value=Ticket.priority, else_=len(SEVERITY))
        query = query.order_by(case((_overdue(now), 0), else_=1), severity,
                               Ticket.resolve_due.is_(None), Ticket.resolve_due, Ticket.id)  # type: ignore[union-attr,arg-type]
    else:
        query = query.order_by(Ticket.id.desc())  # type: ignore[union-attr]
    result = await session.execute(query.offset((page - 1) * per_page).limit(per_page))
    rows = [QueueRow(ticket, guest, staff) for ticket, guest, staff in result.all()]
    return QueuePage(rows, page, pages, total, counts, overdue)


async def ticket_detail(session: AsyncSession, ticket_id: int) -> tuple[list[TicketEvent], list[Message]]:
    """A ticket's timeline and the guest's conversation around it (the last 100 lines up to now)."""
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        return [], []
    events = (await session.execute(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.created_at, TicketEvent.id)  # type: ignore[arg-type]
    )).scalars().all()
    messages = (await session.execute(
        select(Message).where(Message.guest_id == ticket.guest_id).order_by(Message.id.desc()).limit(100)  # type: ignore[union-attr]
    )).scalars().all()
    return list(events), list(reversed(list(messages)))


# --- conversation logs -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LogFilter:
    start: datetime | None = None
    end: datetime | None = None
    channel: str | None = None
    category: str | None = None
    sentiment: str | None = None
    guest: str | None = None  # a guest id, or part of a name
    before_id: int | None = None


async def find_messages(
    session: AsyncSession, flt: LogFilter, match: ColumnElement[bool] | None = None, *, limit: int = 100
) -> list[tuple[Message, Guest]]:
    query = select(Message, Guest).join(Guest, Guest.id == Message.guest_id)  # type: ignore[arg-type]
    if flt.start is not None:
        query = query.where(Message.created_at >= flt.start)  # type: ignore[operator]
    if flt.end is not None:
        query = query.where(Message.created_at < flt.end)  # type: ignore[operator]
    for column, value in ((Message.channel, flt.channel), (Message.category, flt.category),
                          (Message.sentiment, flt.sentiment)):
        if value:
            query = query.where(column == value)
    if flt.guest:
        needle = flt.guest.strip()
        if needle.isascii() and needle.isdigit() and len(needle) <= 12:  # "²" and 55 digits are no guest id
            query = query.where(Message.guest_id == int(needle))
        else:
            like = f"%{needle.replace('%', '').replace('_', '')}%"
            query = query.where(or_(Guest.name.like(like), Guest.surname.like(like)))  # type: ignore[attr-defined]
    if flt.before_id is not None:
        query = query.where(Message.id < flt.before_id)  # type: ignore[operator]
    if match is not None:
        query = query.where(match)
    result = await session.execute(query.order_by(Message.id.desc()).limit(limit))  # type: ignore[union-attr]
    return [(message, guest) for message, guest in result.all()]


# --- a guest's profile ---------------------------------------------------------------------------------------
@dataclass
class Profile:
    guest: Guest
    identities: list[ChannelIdentity] = field(default_factory=list)
    preferences: list[tuple[Preference, Message | None]] = field(default_factory=list)
    bookings: list[Booking] = field(default_factory=list)
    tickets: list[Ticket] = field(default_factory=list)
    surveys: list[Survey] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)


async def guest_profile(
    session: AsyncSession, guest_id: int, *, messages: int = 200, tickets: Callable[[Ticket], bool] | None = None
) -> Profile | None:
    """Everything on one guest. ``tickets`` narrows it to what a viewer may read: only those tickets, and
    only the conversation lines that belong to them (an agent sees their department's part of a guest,
    not the complaint another department is handling); None is everything."""
    guest = await session.get(Guest, guest_id)
    if guest is None:
        return None
    profile = Profile(guest)
    profile.identities = list((await session.execute(
        select(ChannelIdentity).where(ChannelIdentity.guest_id == guest_id).order_by(ChannelIdentity.id)  # type: ignore[arg-type]
    )).scalars())
    preference_rows = (await session.execute(
        select(Preference, Message).join(Message, Message.id == Preference.message_id, isouter=True)  # type: ignore[arg-type]
        .where(Preference.guest_id == guest_id).order_by(Preference.key)
    )).all()
    profile.preferences = [(preference, message) for preference, message in preference_rows]
    lines = select(Message).where(Message.guest_id == guest_id)
    profile.bookings = list((await session.execute(
        select(Booking).where(Booking.guest_id == guest_id).order_by(Booking.check_in.desc())  # type: ignore[attr-defined]
    )).scalars())
    profile.tickets = list((await session.execute(
        select(Ticket).where(Ticket.guest_id == guest_id).order_by(Ticket.id.desc())  # type: ignore[union-attr]
    )).scalars())
    if tickets is not None:
        profile.tickets = [ticket for ticket in profile.tickets if tickets(ticket)]
        visible = {ticket.id for ticket in profile.tickets}
        lines = lines.where(Message.ticket_id.in_(visible))  # type: ignore[union-attr]
        profile.preferences = [(p, m if m is not None and m.ticket_id in visible else None)
                               for p, m in profile.preferences]
    profile.surveys = list((await session.execute(
        select(Survey).where(Survey.guest_id == guest_id).order_by(Survey.created_at.desc())  # type: ignore[attr-defined]
    )).scalars())
    newest_first = lines.order_by(Message.id.desc()).limit(messages)  # type: ignore[union-attr]
    recent = (await session.execute(newest_first)).scalars()
    profile.messages = list(reversed(list(recent)))
    return profile


# --- report figures ------------------------------------------------------------------------------------------
def days_between(start: date, end: date) -> list[date]:
    """Every local day from ``start`` to ``end`` inclusive (a chart needs the empty days too)."""
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def _local_day(moment: datetime, zone: tzinfo) -> date:
    return moment.astimezone(zone).date()


async def tickets_between(session: AsyncSession, start: datetime, end: datetime) -> list[Ticket]:
    result = await session.execute(
        select(Ticket).where(Ticket.created_at >= start, Ticket.created_at < end).order_by(Ticket.id)  # type: ignore[operator,arg-type]
    )
    return list(result.scalars())


async def surveys_between(session: AsyncSession, start: datetime, end: datetime) -> list[Survey]:
    result = await session.execute(
        select(Survey).where(Survey.created_at >= start, Survey.created_at < end).order_by(Survey.id)  # type: ignore[operator,arg-type]
    )
    return list(result.scalars())


async def conversations_between(session: AsyncSession, start: datetime, end: datetime) -> list[tuple[int, datetime]]:
    """(guest id, time) of every inbound line: a guest writing on a day is one conversation that day."""
    result = await session.execute(
        select(Message.guest_id, Message.created_at).where(
            Message.direction == "in", Message.created_at >= start, Message.created_at < end  # type: ignore[operator]
        )
    )
    return [(int(guest_id), created) for guest_id, created in result.all()]


async def reopened_between(session: AsyncSession, start: datetime, end: datetime) -> int:
    """Tickets the guest reopened ("not solved") in the period: a resolution that did not hold."""
    result = await session.execute(
        select(func.count(func.distinct(TicketEvent.ticket_id))).where(
            TicketEvent.kind == "guest_not_solved", TicketEvent.created_at >= start, TicketEvent.created_at < end  # type: ignore[operator]
        )
    )
    return int(result.scalar_one() or 0)


def count_by_day(tickets: Iterable[Ticket], key: str, zone: tzinfo) -> dict[date, Counter[str]]:
    """Tickets per local day, counted by ``key`` (``category`` or ``department``)."""
    counts: dict[date, Counter[str]] = defaultdict(Counter)
    for ticket in tickets:
        counts[_local_day(ticket.created_at, zone)][str(getattr(ticket, key))] += 1
    return counts


@dataclass(frozen=True)
class SlaDay:
    """One day's SLA figures. A rate counts every ticket whose deadline has come — answered (resolved) or
    not: an unanswered ticket past its first-response time is late, not left out — and carries its
    denominator, so "100 %" of nothing cannot pass for a good day."""

    day: date
    tickets: int
    first_response_median: float | None  # minutes
    first_response_within: float | None  # share of the tickets due a first response that got it in time (0–1)
    resolution_median: float | None
    resolution_within: float | None
    first_response_due: int = 0
    first_response_on_time: int = 0
    resolution_due: int = 0
    resolution_on_time: int = 0


def _minutes(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() / 60


def _on_time(done: datetime | None, due: datetime | None, now: datetime) -> bool | None:
    """True / False for a deadline that has come (met or missed), None for one still running."""
    if done is not None:
        return due is None or done <= due
    if due is not None and due < now:
        return False
    return None


def _share(flags: Sequence[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def sla_by_day(tickets: Iterable[Ticket], days: Sequence[date], zone: tzinfo, now: datetime | None = None) -> list[SlaDay]:
    now = now or datetime.now(UTC)
    grouped: dict[date, list[Ticket]] = defaultdict(list)
    for ticket in tickets:
        grouped[_local_day(ticket.created_at, zone)].append(ticket)
    rows = []
    for day in days:
        group = grouped.get(day, [])
        answered = [t for t in group if t.first_response_at is not None]
        resolved = [t for t in group if t.resolved_at is not None and t.status in ("resolved", "closed")]
        respond = [flag for t in group if (flag := _on_time(t.first_response_at, t.respond_due, now)) is not None]
        resolve = [flag for t in group if (flag := _on_time(
            t.resolved_at if t.status in ("resolved", "closed") else None, t.resolve_due, now)) is not None]
        rows.append(SlaDay(
            day=day,
            tickets=len(group),
            first_response_median=statistics.median(_minutes(t.first_response_at, t.created_at) for t in answered)  # type: ignore[arg-type]
            if answered else None,
            first_response_within=_share(respond),
            resolution_median=statistics.median(_minutes(t.resolved_at, t.created_at) for t in resolved)  # type: ignore[arg-type]
            if resolved else None,
            resolution_within=_share(resolve),
            first_response_due=len(respond), first_response_on_time=sum(respond),
            resolution_due=len(resolve), resolution_on_time=sum(resolve),
        ))
    return rows


@dataclass(frozen=True)
class SurveyPoint:
    week: date  # the Monday of the week
    responses: int
    csat: float | None  # average score (1–5)
    nps: float | None  # % promoters (9–10) − % detractors (0–6)


def survey_trend(surveys: Iterable[Survey], zone: tzinfo) -> list[SurveyPoint]:
    weeks: dict[date, list[Survey]] = defaultdict(list)
    for survey in surveys:
        day = _local_day(survey.created_at, zone)
        weeks[day - timedelta(days=day.weekday())].append(survey)
    points = []
    for week in sorted(weeks):
        group = weeks[week]
        csat = [s.csat for s in group if s.csat is not None]
        nps = [s.nps for s in group if s.nps is not None]
        points.append(SurveyPoint(
            week=week,
            responses=len(group),
            csat=sum(csat) / len(csat) if csat else None,
            nps=(100 * (sum(score >= 9 for score in nps) - sum(score <= 6 for score in nps)) / len(nps)) if nps else None,
        ))
    return points


@dataclass(frozen=True)
class ComplaintDay:
    day: date
    conversations: int
    complaints: int

    @property
    def rate(self) -> float | None:
        return self.complaints / self.conversations if self.conversations else None


def complaint_rate(
    tickets: Iterable[Ticket], conversations: Iterable[tuple[int, datetime]], days: Sequence[date], zone: tzinfo
) -> list[ComplaintDay]:
    talked: dict[date, set[int]] = defaultdict(set)
    for guest_id, moment in conversations:
        talked[_local_day(moment, zone)].add(guest_id)
    complaints: Counter[date] = Counter(
        _local_day(t.created_at, zone) for t in tickets if t.category == "complaint"
    )
    return [ComplaintDay(day, len(talked.get(day, ())), complaints.get(day, 0)) for day in days]
