"""SLA sweep escalations, the nightly CRM job (points, tiers, RFM, pyramid), and APScheduler wiring."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text
from sqlmodel import select

from bot.app import Concierge
from crm.db import Database
from crm.loyalty import late_checkout, tier_for
from crm.migrate import upgrade
from crm.models import Guest, GuestHistory, GuestSegment, Outbox, PointsEntry, Ticket
from crm.segments import pyramid_classes, quintile_scores
from crm.tickets import TicketSpec, open_ticket
from nlp import Analyzer
from scheduler.service import LifecycleService
from tests.conftest import SettingsFactory
from tests.lifecycle_helpers import add_booking, add_guest, context, hotel_time


async def test_sla_sweep_escalates_one_level_per_missed_deadline(make_settings: SettingsFactory) -> None:
    settings = make_settings()
    db = Database(settings.database_url)
    await upgrade(db)
    try:
        created = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)
        async with db.write() as session:
            guest = await add_guest(session, chat=1)
            ticket = await open_ticket(session, TicketSpec(guest.id or 0, "housekeeping", "housekeeping", "normal", "web",
                                                           "两条毛巾", 10, 30), now=created)
        service = LifecycleService(db, context(settings))
        assert "escalated 0" in await service.run_job("sla", created + timedelta(minutes=9))
        assert "escalated 1" in await service.run_job("sla", created + timedelta(minutes=11))
        assert "escalated 0" in await service.run_job("sla", created + timedelta(minutes=12))  # once per level
        assert "escalated 1" in await service.run_job("sla", created + timedelta(minutes=31))
        async with db.read() as session:
            row = await session.get(Ticket, ticket.id)
            staff = (await session.execute(select(Outbox).where(Outbox.channel == "staff").order_by(Outbox.id))).scalars().all()
        assert row is not None and row.escalation_level == 2
        assert [m.dedupe_key for m in staff] == [f"sla:{ticket.id}:1", f"sla:{ticket.id}:2"]
        assert "未在时限内响应" in staff[0].text and "客房部" in staff[0].text and "两条毛巾" in staff[0].text
    finally:
        await db.dispose()


async def test_nightly_awards_points_once_sets_tiers_and_segments(make_settings: SettingsFactory) -> None:
    settings = make_settings()
    db = Database(settings.database_url)
    await upgrade(db)
    try:
        async with db.write() as session:
            regular = await add_guest(session, chat=1)
            whale = await add_guest(session, chat=2)
            others = [await add_guest(session, chat=10 + n) for n in range(98)]
            await add_booking(session, regular, date(2026, 4, 1), date(2026, 4, 4), price=1800)
            await add_booking(session, regular, date(2026, 4, 20), date(2026, 4, 21), status="cancelled")
            session.add(GuestHistory(guest_id=whale.id or 0, stays=20, nights=60, revenue=90_000, last_stay=date(2026, 3, 1)))
            for n, guest in enumerate(others[:30]):
                await add_booking(session, guest, date(2026, 2, 1), date(2026, 2, 2), price=500 + n)
        service = LifecycleService(db, context(settings, points_per_night=100))
        now = hotel_time(date(2026, 5, 2), 3, 0)
        first = await service.run_job("nightly", now)
        second = await service.run_job("nightly", now + timedelta(days=1))
        assert "points credited" in first
        assert "0 points credited" in second
        async with db.read() as session:
            r = await session.get(Guest, regular.id)
            w = await session.get(Guest, whale.id)
            entries = (await session.execute(select(PointsEntry).where(PointsEntry.guest_id == regular.id))).scalars().all()
            seg_w = await session.get(GuestSegment, whale.id)
            seg_none = await session.get(GuestSegment, others[-1].id)
        assert r is not None and r.points == 300 and len(entries) == 1 and r.tier == "member"
        assert w is not None and w.tier == "platinum"
        assert seg_w is not None and seg_w.pyramid == "A" and seg_w.m == 5
        assert seg_none is not None and (seg_none.rfm, seg_none.pyramid) == ("111", "D")
    finally:
        await db.dispose()


def test_scores_pyramid_and_perks() -> None:
    assert quintile_scores([1, 2, 3, 4, 5]) == [1, 2, 3, 4, 5]
    assert quintile_scores([5, 4, 3, 2, 1], higher_is_better=False) == [1, 2, 3, 4, 5]
    classes = pyramid_classes({n: 1000 - n for n in range(100)} | {n: 0 for n in range(100, 200)})
    counts = {label: list(classes.values()).count(label) for label in "ABCD"}
    assert counts == {"A": 2, "B": 8, "C": 30, "D": 160}
    assert tier_for(9) == "member" and tier_for(10) == "silver" and tier_for(60) == "platinum"
    from datetime import time
    assert late_checkout("gold", time(12)) == time(14) and late_checkout("member", time(12)) == time(12)


async def test_scheduler_persists_jobs_in_the_project_database(make_settings: SettingsFactory, analyzer: Analyzer) -> None:
    app = Concierge(make_settings(), analyzer=analyzer)
    await app.start(serve_http=False)
    try:
        await app.scheduler.start()
        jobs = {job.id: job for job in app.scheduler.scheduler.get_jobs()}  # type: ignore[union-attr]
        assert set(jobs) == {"pre_arrival", "post_stay", "birthday", "holiday", "reengage", "sla", "nightly"}
        assert all(job.coalesce and job.max_instances == 1 and job.misfire_grace_time >= 3600 for job in jobs.values())
        async with app.db.read() as session:
            stored = (await session.execute(text("SELECT id FROM apscheduler_jobs"))).scalars().all()
        assert set(stored) == set(jobs)
        app.scheduler.scheduler.modify_job("sla", next_run_time=datetime.now(UTC))  # type: ignore[union-attr]
        for _ in range(50):  # the job runs on the loop, handed over from APScheduler's thread
            await asyncio.sleep(0.05)
            job = app.scheduler.scheduler.get_job("sla")  # type: ignore[union-attr]
            if job.next_run_time > datetime.now(UTC) + timedelta(seconds=30):
                break
        assert job.next_run_time > datetime.now(UTC) + timedelta(seconds=30)
    finally:
        await app.stop()
    again = Concierge(make_settings(), analyzer=analyzer)
    await again.start(serve_http=False)
    try:
        await again.scheduler.start()  # stored jobs with unchanged triggers are kept, not duplicated
        assert len(again.scheduler.scheduler.get_jobs()) == 7  # type: ignore[union-attr]
    finally:
        await again.stop()


async def test_stopping_waits_for_a_sweep_in_progress(make_settings: SettingsFactory, analyzer: Analyzer) -> None:
    """A sweep still running when the bot stops is cancelled and finished before the store is closed —
    not left to write to a disposed database (sweeps are idempotent: the next run redoes it)."""
    app = Concierge(make_settings(), analyzer=analyzer)
    await app.start(serve_http=False)
    started, ended = asyncio.Event(), []

    async def slow_sweep(job: str, *_args: object) -> str:
        started.set()
        try:
            await asyncio.sleep(30)
            return job
        finally:
            async with app.db.read() as session:  # still usable: stop() has not disposed the store yet
                ended.append((await session.execute(text("SELECT 1"))).scalar_one())

    try:
        await app.scheduler.start()
        app.scheduler.service.run_job = slow_sweep  # type: ignore[method-assign]
        app.scheduler.scheduler.modify_job("sla", next_run_time=datetime.now(UTC))  # type: ignore[union-attr]
        await asyncio.wait_for(started.wait(), timeout=10)
    finally:
        await app.stop()
    assert ended == [1]
