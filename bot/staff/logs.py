"""Conversation logs (managers) with filters and Chinese/English full-text search, and guest profiles.

Opening a guest's profile is written to the audit log: it shows contact details and everything the guest
said, so who looked at whom must be traceable.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import partial

from aiohttp import web
from sqlmodel import select

from bot.staff.auth import StaffContext, forbidden, guarded
from bot.staff.formatting import category, guest_label, label, local, transcript, url, worded
from bot.staff.pages import ROW_ID
from bot.staff.search import INDEX_KEY
from crm.models import AuditLog, Outbox, StaffUser, Ticket
from crm.reports import LogFilter, find_messages, guest_profile
from crm.ticket_work import can_see
from handlers.types import parse_number

CHANNELS = ("telegram", "wechat", "whatsapp", "line", "web", "terminal")
SENTIMENTS = ("positive", "neutral", "negative")
PAGE = 100


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/staff/logs", logs_page)
    router.add_get(f"/staff/guests/{{guest_id:{ROW_ID}}}", guest_page)


def parse_day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def day_bounds(ctx: StaffContext, start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
    """Local calendar days (the hotel's) to UTC instants: [start 00:00, end+1 00:00)."""
    zone = ctx.deps.settings.hotel.zone
    low = datetime.combine(start, time(0), zone) if start else None
    high = datetime.combine(end + timedelta(days=1), time(0), zone) if end else None
    return low, high


@guarded("manager")
async def logs_page(ctx: StaffContext) -> web.StreamResponse:
    query = ctx.request.query
    start, end = parse_day(query.get("from")), parse_day(query.get("to"))
    low, high = day_bounds(ctx, start, end)
    before = query.get("before", "")
    flt = LogFilter(
        start=low, end=high,
        channel=query.get("channel") if query.get("channel") in CHANNELS else None,
        category=query.get("category") or None if (query.get("category") or "").isidentifier() else None,
        sentiment=query.get("sentiment") if query.get("sentiment") in SENTIMENTS else None,
        guest=(query.get("guest") or "")[:100] or None,
        before_id=parse_number(before),
    )
    text = (query.get("q") or "")[:200]
    clause = await ctx.request.app[INDEX_KEY].clause(text)
    async with ctx.deps.db.read() as session:
        found = await find_messages(session, flt, clause, limit=PAGE)
    offered: dict[int, dict[str, str]] = {}  # per guest, read oldest first: a pressed button reads as its label
    texts = {message.id: worded(ctx, message, offered.setdefault(message.guest_id, {}))
             for message, _ in reversed(found)}
    categories = sorted({*ctx.deps.settings.ticket_categories, "faq", "praise", "booking"})
    headers = [ctx.t(k) for k in ("dash.field.time", "dash.field.guest", "dash.field.channel", "dash.field.direction",
                                  "dash.field.category", "dash.field.sentiment", "dash.field.text", "dash.field.ticket")]
    older_url = ""
    if len(found) == PAGE:
        older = {k: v for k, v in query.items() if k != "before"}
        older_url = url("/staff/logs", **older, before=found[-1][0].id)
    return ctx.page(
        "logs.html", ctx.t("dash.logs.title"), section="logs", q=text, chosen=flt, found=found, headers=headers,
        texts=texts,
        start=start.isoformat() if start else "", end=end.isoformat() if end else "",
        channels=[(c, label(ctx, "channel", c)) for c in CHANNELS], sentiment_codes=SENTIMENTS,
        categories=[(c, category(ctx, c)) for c in categories],
        sentiments=[(s, ctx.t(f"dash.sentiment.{s}")) for s in SENTIMENTS],
        export_url=url("/staff/export/conversations.csv", **{"from": query.get("from", ""), "to": query.get("to", "")}),
        older_url=older_url,
    )


async def _agent_may_see_guest(ctx: StaffContext, guest_id: int) -> bool:
    async with ctx.deps.db.read() as session:
        tickets = (await session.execute(select(Ticket).where(Ticket.guest_id == guest_id))).scalars().all()
    return any(can_see(ctx.user, ticket) for ticket in tickets)


@guarded("agent")
async def guest_page(ctx: StaffContext) -> web.StreamResponse:
    guest_id = int(ctx.request.match_info["guest_id"])
    if not ctx.can("manager") and not await _agent_may_see_guest(ctx, guest_id):
        return forbidden(ctx.request)
    async with ctx.deps.db.write() as session:
        # agents: only their department's tickets of this guest, and the lines that belong to them
        visible = None if ctx.can("manager") else partial(can_see, ctx.user)
        profile = await guest_profile(session, guest_id, tickets=visible)
        if profile is not None:
            session.add(AuditLog(actor=ctx.actor, action="guest.view", target=f"guest:{guest_id}"))
        staff = (await session.execute(select(StaffUser))).scalars().all()
        held = (await session.execute(  # what a channel's window kept back: shown, never silently dropped
            select(Outbox).where(Outbox.guest_id == guest_id, Outbox.status == "held").order_by(Outbox.id)  # type: ignore[arg-type]
        )).scalars().all()
    if profile is None:
        raise web.HTTPNotFound()
    names = {member.id: member.name for member in staff if member.id is not None}
    guest = profile.guest
    yes, no = ctx.t("dash.yes"), ctx.t("dash.no")
    contact = [
        (ctx.t("dash.field.name"), " ".join(p for p in (guest.surname, guest.name) if p) or "—"),
        (ctx.t("dash.field.phone"), guest.phone or "—"),
        (ctx.t("dash.field.email"), guest.email or "—"),
        (ctx.t("dash.field.language"), label(ctx, "language", guest.language)),
        (ctx.t("dash.field.room"), guest.room_number or "—"),
        (ctx.t("dash.field.tier"), f"{ctx.t_or(f'tier.{guest.tier}', guest.tier)} · {guest.points}"),
        (ctx.t("dash.field.birthday"), (guest.birthday.isoformat() + (f" ({ctx.t('dash.lunar')})" if guest.birthday_lunar else ""))
         if guest.birthday else "—"),
        (ctx.t("dash.field.consent"), f"{yes} · {local(ctx, guest.consent_at)} · {guest.consent_source or ''}"
         if guest.marketing_consent else no),
        (ctx.t("dash.field.channels"), ", ".join(label(ctx, "channel", i.channel) + (f" ({i.display_name})" if i.display_name else "")
                                                for i in profile.identities) or "—"),
    ]
    title = guest.name or ctx.t("staff.unknown_guest")
    return ctx.page("guest.html", f"{title} · {guest_label(ctx, guest.id or 0)}", section="logs", profile=profile, contact=contact,
                    lines=transcript(ctx, profile.messages, staff_names=names), held=held)
