"""Report figures, charts and CSV cells without a server; password hashing and sessions in the store."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from aiohttp import web
from markupsafe import Markup

from bot.staff.charts import lines, stacked_bars
from bot.staff.pages import setup_pages
from bot.staff.reports import cell
from crm.db import Database
from crm.migrate import upgrade
from crm.models import Survey, Ticket
from crm.reports import complaint_rate, count_by_day, days_between, sla_by_day, survey_trend
from crm.staff import add_staff, authenticate, close_session, open_session, resolve_session
from crm.types import utcnow

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _ticket(created: datetime, category: str = "housekeeping", *, answered: int | None = None,
            resolved: int | None = None) -> Ticket:
    return Ticket(
        guest_id=1, category=category, department="housekeeping", channel="web", created_at=created,
        respond_due=created + timedelta(minutes=10), resolve_due=created + timedelta(minutes=30),
        first_response_at=created + timedelta(minutes=answered) if answered is not None else None,
        resolved_at=created + timedelta(minutes=resolved) if resolved is not None else None,
        status="resolved" if resolved is not None else "open",
    )


def test_days_are_counted_in_the_hotels_time_zone() -> None:
    late_evening_utc = datetime(2026, 5, 1, 17, 30, tzinfo=UTC)  # 01:30 on 2 May in Shanghai
    counts = count_by_day([_ticket(late_evening_utc)], "category", SHANGHAI)
    assert list(counts) == [date(2026, 5, 2)]


def test_sla_shares_and_medians() -> None:
    day = datetime(2026, 5, 2, 2, 0, tzinfo=UTC)
    tickets = [_ticket(day, answered=5, resolved=20), _ticket(day, answered=15, resolved=60), _ticket(day)]
    (row,) = sla_by_day(tickets, [date(2026, 5, 2)], SHANGHAI, now=day + timedelta(minutes=5))
    assert row.tickets == 3  # the third is not due yet: it counts in no rate
    assert row.first_response_within == 0.5 and row.resolution_within == 0.5
    assert (row.first_response_on_time, row.first_response_due) == (1, 2)
    assert row.first_response_median == 10 and row.resolution_median == 40


def test_an_unanswered_overdue_ticket_is_late_not_left_out() -> None:
    """Issue 15: "first response on time 100 %" while a complaint sat unanswered past its deadline."""
    day = datetime(2026, 5, 2, 2, 0, tzinfo=UTC)
    tickets = [_ticket(day, answered=5, resolved=20), _ticket(day)]
    (row,) = sla_by_day(tickets, [date(2026, 5, 2)], SHANGHAI, now=day + timedelta(hours=1))
    assert (row.first_response_on_time, row.first_response_due, row.first_response_within) == (1, 2, 0.5)
    assert (row.resolution_on_time, row.resolution_due) == (1, 2)
    reopened = _ticket(day, answered=5)  # resolved once, the guest said "not solved": running again
    reopened.resolve_due = day + timedelta(hours=3)
    (row,) = sla_by_day([reopened], [date(2026, 5, 2)], SHANGHAI, now=day + timedelta(hours=1))
    assert row.resolution_due == 0  # not "resolved within SLA" any more


def test_nps_and_csat_by_week() -> None:
    monday = datetime(2026, 5, 4, 4, tzinfo=UTC)
    surveys = [Survey(guest_id=1, csat=5, nps=10, created_at=monday), Survey(guest_id=2, csat=3, nps=9, created_at=monday),
               Survey(guest_id=3, csat=1, nps=2, created_at=monday + timedelta(days=2)),
               Survey(guest_id=4, csat=None, nps=8, created_at=monday + timedelta(days=3))]
    (point,) = survey_trend(surveys, SHANGHAI)
    assert point.week == date(2026, 5, 4) and point.responses == 4
    assert point.csat == 3 and point.nps == 25  # 2 promoters, 1 detractor of 4


def test_complaint_rate_per_conversation() -> None:
    day = datetime(2026, 5, 2, 3, tzinfo=UTC)
    conversations = [(1, day), (1, day), (2, day), (3, day)]
    rows = complaint_rate([_ticket(day, "complaint"), _ticket(day)], conversations, days_between(date(2026, 5, 2), date(2026, 5, 3)), SHANGHAI)
    assert rows[0].rate == 1 / 3 and rows[1].rate is None


def test_charts_escape_labels_and_draw_bars_and_gaps() -> None:
    bars = stacked_bars("<b>title</b>", ["05-01", "05-02"], {"<script>": [1, 2], "b": [0, 3]})
    assert "<script>" not in bars and "&lt;script&gt;" in bars and bars.count("<rect x=") == 3
    chart = lines("t", ["a", "b", "c"], {"x": [1.0, None, 3.0]}, target=2)
    assert chart.count("<polyline") == 2 and "stroke-dasharray" in chart


def test_templates_escape_unless_already_markup() -> None:
    template = setup_pages(web.Application()).from_string('<p title="{{ value }}">{{ value }}</p>')
    assert template.render(value="<i>") == '<p title="&lt;i&gt;">&lt;i&gt;</p>'
    assert template.render(value=Markup("<i>x</i>")) == '<p title="<i>x</i>"><i>x</i></p>'
    assert template.render(value='"') == '<p title="&#34;">&#34;</p>'


def test_csv_cells_cannot_become_formulas() -> None:
    assert cell("=1+1") == "'=1+1" and cell("@SUM(A1)") == "'@SUM(A1)" and cell("-2") == "'-2"
    assert cell("空调坏了") == "空调坏了" and cell(None) == "" and cell(3) == "3"


async def test_passwords_are_hashed_and_sessions_expire(tmp_path: object) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/staff.db")
    await upgrade(db)
    try:
        async with db.write() as session:
            user = await add_staff(session, "amy", "manager", "s3cret pass")
            assert user.password_hash.startswith("$argon2id$") and "s3cret" not in user.password_hash
        async with db.write() as session:
            assert await authenticate(session, "amy", "wrong pass") is None
            assert await authenticate(session, "nobody", "s3cret pass") is None
            found = await authenticate(session, "amy", "s3cret pass")
            assert found is not None
            token = await open_session(session, found)
        async with db.read() as session:
            live = await resolve_session(session, token)
            assert live is not None and live.user.name == "amy" and len(live.csrf_token) > 20
            assert await resolve_session(session, token, now=utcnow() + timedelta(hours=13)) is None
            assert await resolve_session(session, "not-a-token") is None
        async with db.write() as session:
            await close_session(session, token)
        async with db.read() as session:
            assert await resolve_session(session, token) is None
    finally:
        await db.dispose()
