"""Reports for managers (charts drawn on the server as SVG) and CSV exports of tickets and conversations.

CSV cells that a spreadsheet would run as a formula (=, +, -, @ …) are prefixed with an apostrophe:
guest text ends up in Excel, and must not be able to execute there either. Files carry a UTF-8 BOM so
that Excel shows Chinese correctly.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from bot.staff.auth import StaffContext, guarded
from bot.staff.charts import lines, stacked_bars
from bot.staff.formatting import category, department
from bot.staff.logs import day_bounds, parse_day
from bot.staff.pages import SECURITY_HEADERS
from crm.models import AuditLog, Guest, Message, StaffUser, Ticket
from crm.reports import (
    complaint_rate,
    conversations_between,
    reopened_between,
    count_by_day,
    days_between,
    sla_by_day,
    survey_trend,
    surveys_between,
    tickets_between,
)
from crm.types import utcnow

DEFAULT_DAYS = 30
MAX_DAYS = 366
EXPORT_BATCH = 1000


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/staff/reports", reports_page)
    router.add_get("/staff/export/tickets.csv", export_tickets)
    router.add_get("/staff/export/conversations.csv", export_conversations)


def _range(ctx: StaffContext) -> tuple[date, date]:
    today = utcnow().astimezone(ctx.deps.settings.hotel.zone).date()
    end = parse_day(ctx.request.query.get("to")) or today
    start = parse_day(ctx.request.query.get("from")) or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        start, end = end, start
    return max(start, end - timedelta(days=MAX_DAYS - 1)), end


def _pct(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 1)


@guarded("manager")
async def reports_page(ctx: StaffContext) -> web.StreamResponse:
    start, end = _range(ctx)
    low, high = day_bounds(ctx, start, end)
    assert low is not None and high is not None
    zone = ctx.deps.settings.hotel.zone
    async with ctx.deps.db.read() as session:
        tickets = await tickets_between(session, low, high)
        surveys = await surveys_between(session, low, high)
        conversations = await conversations_between(session, low, high)
        reopened = await reopened_between(session, low, high)
    days = days_between(start, end)
    labels = [day.strftime("%m-%d") for day in days]

    def by(key: str, name: object) -> dict[str, list[int]]:
        counts = count_by_day(tickets, key, zone)
        codes = sorted({code for counter in counts.values() for code in counter})
        return {str(name(code)): [counts.get(day, {}).get(code, 0) for day in days] for code in codes}  # type: ignore[operator]

    by_category = by("category", lambda code: category(ctx, code))
    by_department = by("department", lambda code: department(ctx, code))
    sla = sla_by_day(tickets, days, zone, utcnow())
    trend = survey_trend(surveys, zone)
    complaints = complaint_rate(tickets, conversations, days, zone)
    total_complaints = sum(row.complaints for row in complaints)
    total_conversations = sum(row.conversations for row in complaints)

    summary_headers = [ctx.t("dash.report.tickets"), ctx.t("dash.report.first_response_in_sla"),
                       ctx.t("dash.report.resolution_in_sla"), ctx.t("dash.report.reopened"),
                       ctx.t("dash.report.complaint_rate"), ctx.t("dash.report.responses")]
    summary = (
        len(tickets),
        _share_text(ctx, sum(r.first_response_on_time for r in sla), sum(r.first_response_due for r in sla)),
        _share_text(ctx, sum(r.resolution_on_time for r in sla), sum(r.resolution_due for r in sla)),
        reopened,
        ctx.t("dash.report.rate_of", pct=f"{100 * total_complaints / total_conversations:.1f}",
              part=total_complaints, whole=total_conversations) if total_conversations else ctx.t("dash.report.no_data"),
        len(surveys),
    )
    empty = ctx.t("dash.report.no_data")
    charts = [
        (ctx.t("dash.report.by_category"), stacked_bars(ctx.t("dash.report.by_category"), labels, by_category, empty=empty)),
        (ctx.t("dash.report.by_department"), stacked_bars(ctx.t("dash.report.by_department"), labels, by_department, empty=empty)),
        (ctx.t("dash.report.sla"), lines(
            ctx.t("dash.report.sla"), labels,
            {ctx.t("dash.report.first_response_in_sla"): [_pct(r.first_response_within) for r in sla],
             ctx.t("dash.report.resolution_in_sla"): [_pct(r.resolution_within) for r in sla]},
            suffix="%", top=100, target=90, empty=empty)),
        (ctx.t("dash.report.times"), lines(
            ctx.t("dash.report.times"), labels,
            {ctx.t("dash.report.first_response_minutes"): [r.first_response_median for r in sla],
             ctx.t("dash.report.resolution_minutes"): [r.resolution_median for r in sla]},
            suffix="′", empty=empty)),
        (ctx.t("dash.report.csat"), lines(
            ctx.t("dash.report.csat"), [p.week.strftime("%m-%d") for p in trend],
            {"CSAT": [p.csat for p in trend]}, top=5, target=4.5, empty=empty)),
        (ctx.t("dash.report.nps"), lines(
            ctx.t("dash.report.nps"), [p.week.strftime("%m-%d") for p in trend],
            {"NPS": [p.nps for p in trend]}, top=100, bottom=-100, target=0, empty=empty)),
        (ctx.t("dash.report.complaints"), lines(
            ctx.t("dash.report.complaints"), labels,
            {ctx.t("dash.report.complaint_rate"): [_pct(r.rate) for r in complaints]}, suffix="%", empty=empty)),
    ]
    return ctx.page(
        "reports.html", ctx.t("dash.reports.title"), section="reports", charts=charts, summary=summary,
        summary_headers=summary_headers, start=start.isoformat(), end=end.isoformat(),
        period={"from": start.isoformat(), "to": end.isoformat()},
    )


def _share_text(ctx: StaffContext, on_time: int, due: int) -> str:
    """A rate with its denominator ("83 % · 10 of 12 due"); nothing due is "no data", never 100 %."""
    if not due:
        return ctx.t("dash.report.no_data")
    return ctx.t("dash.report.share", pct=f"{100 * on_time / due:.0f}", part=on_time, whole=due)


# --- CSV -----------------------------------------------------------------------------------------------------
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def _line(values: Iterable[object]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([cell(v) for v in values])
    return buffer.getvalue().encode("utf-8")


Page = Callable[[AsyncSession, datetime, datetime, int], Awaitable[Sequence[Any]]]
"""One batch of an export: rows created in [low, high) whose id is above the last one written."""


async def _export(ctx: StaffContext, what: str, header: list[str], page: Page,
                  cells: Callable[[Any], list[object]]) -> web.StreamResponse:
    """Stream a CSV in id order, one short read transaction per batch, so a year of conversations never
    sits in memory nor holds a transaction open while a slow client downloads."""
    start, end = _range(ctx)
    low, high = day_bounds(ctx, start, end)
    async with ctx.deps.db.write() as session:
        session.add(AuditLog(actor=ctx.actor, action="export", target=what, detail=f"{start}..{end}"))
    response = web.StreamResponse(headers={
        **SECURITY_HEADERS,
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{what}-{start}-{end}.csv"',
    })
    await response.prepare(ctx.request)
    await response.write("\ufeff".encode() + _line(header))
    after = 0
    while True:
        async with ctx.deps.db.read() as session:
            rows = await page(session, low, high, after)
        for row in rows:
            await response.write(_line(cells(row)))
        if len(rows) < EXPORT_BATCH:
            break
        after = rows[-1][0].id
    await response.write_eof()
    return response


@guarded("manager")
async def export_tickets(ctx: StaffContext) -> web.StreamResponse:
    async def page(session: AsyncSession, low: datetime, high: datetime, after: int) -> Sequence[Any]:
        return (await session.execute(
            select(Ticket, Guest, StaffUser)
            .join(Guest, Guest.id == Ticket.guest_id, isouter=True)  # type: ignore[arg-type]
            .join(StaffUser, StaffUser.id == Ticket.assignee_id, isouter=True)  # type: ignore[arg-type]
            .where(Ticket.created_at >= low, Ticket.created_at < high, Ticket.id > after)  # type: ignore[operator]
            .order_by(Ticket.id).limit(EXPORT_BATCH)  # type: ignore[arg-type]
        )).all()

    def cells(row: Any) -> list[object]:
        ticket, guest, staff = row
        return [
            ticket.id, _iso(ticket.created_at), ticket.category, ticket.department, ticket.priority, ticket.status,
            ticket.channel, ticket.guest_id, guest.name if guest else "", ticket.room_number or "",
            staff.name if staff else "", _iso(ticket.respond_due), _iso(ticket.first_response_at),
            _iso(ticket.resolve_due), _iso(ticket.resolved_at), ticket.escalation_level, ticket.summary,
            ticket.root_cause or "",
        ]

    return await _export(ctx, "tickets", [
        "id", "created_at", "category", "department", "priority", "status", "channel", "guest_id", "guest", "room",
        "assignee", "respond_due", "first_response_at", "resolve_due", "resolved_at", "escalation_level", "summary",
        "root_cause",
    ], page, cells)


@guarded("manager")
async def export_conversations(ctx: StaffContext) -> web.StreamResponse:
    async def page(session: AsyncSession, low: datetime, high: datetime, after: int) -> Sequence[Any]:
        return (await session.execute(
            select(Message, Guest).join(Guest, Guest.id == Message.guest_id)  # type: ignore[arg-type]
            .where(Message.created_at >= low, Message.created_at < high, Message.id > after)  # type: ignore[operator]
            .order_by(Message.id).limit(EXPORT_BATCH)  # type: ignore[arg-type]
        )).all()

    def cells(row: Any) -> list[object]:
        message, guest = row
        return [
            message.id, _iso(message.created_at), message.guest_id, guest.name, message.channel, message.direction,
            message.author, message.language or "", message.category or "", message.sentiment or "",
            message.ticket_id or "", message.text,
        ]

    return await _export(ctx, "conversations", [
        "id", "created_at", "guest_id", "guest", "channel", "direction", "author", "language", "category",
        "sentiment", "ticket_id", "text",
    ], page, cells)


def _iso(value: object) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else ""

