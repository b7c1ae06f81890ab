"""The staff dashboard under /staff: routes, the ticket queue and the ticket page with its actions.

Pages are server-rendered HTML (Jinja2 templates in ``templates/``, autoescaped: see ``pages``), work
without JavaScript and fit a phone; ``staff.js`` keeps SLA countdowns ticking and follows the live feed
(``live``: the queue and an open ticket update themselves, with opt-in notifications). Actions POST a form
with the CSRF token and redirect back (so a reload never repeats them). Logs and guest profiles live in
``logs``, reports and CSV in ``reports``, user administration in ``users`` (all in this package).
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple
from urllib.parse import urlencode

from aiohttp import web

from bot.staff import live, logs, reports, users
from bot.staff.auth import (
    THROTTLE_KEY,
    LoginThrottle,
    StaffContext,
    forbidden,
    guarded,
    login_page,
    login_submit,
    logout,
    switch_language,
)
from bot.staff.deps import DEPS_KEY, StaffDeps
from bot.staff.formatting import category, department, fold_before, local, transcript, url
from bot.staff.pages import ROW_ID, SECURITY_HEADERS, setup_pages
from bot.staff.search import start_indexer
from crm.models import ConversationState, Guest, StaffUser, Ticket
from crm.reports import QueueFilter, ticket_detail, ticket_queue
from crm.staff import list_staff
from crm.ticket_work import OPEN_STATUSES, WorkError, add_note, can_see, claim, reassign, reply
from handlers.ticket_actions import hand_back, resolve_ticket
from handlers.types import parse_number

STATUSES = ("active", "open", "claimed", "resolved", "closed", "all")
PRIORITIES = ("low", "normal", "high", "urgent")


def add_staff_routes(app: web.Application, deps: StaffDeps) -> live.LiveFeed:
    """Mount the dashboard on the web app, with what it needs from the running service; returns the live
    feed, for the service to wake when it commits something staff should see."""
    app[DEPS_KEY] = deps
    app[THROTTLE_KEY] = LoginThrottle(deps.settings.limits)

    async def close_throttle(app: web.Application) -> None:
        app[THROTTLE_KEY].close()

    app.on_cleanup.append(close_throttle)
    setup_pages(app)  # templates, and /staff/static/ as an aiohttp static route
    router = app.router
    router.add_get("/staff", _home)
    router.add_get("/staff/", _home)
    router.add_get("/staff/login", login_page)
    router.add_post("/staff/login", login_submit)
    router.add_post("/staff/logout", logout)
    router.add_get("/staff/lang", switch_language)
    router.add_get("/staff/tickets", queue_page)
    router.add_get(f"/staff/tickets/{{ticket_id:{ROW_ID}}}", ticket_page)
    router.add_post(f"/staff/tickets/{{ticket_id:{ROW_ID}}}/{{action:claim|reply|resolve|reassign|note|handback}}", ticket_action)
    logs.add_routes(router)
    reports.add_routes(router)
    users.add_routes(router)
    start_indexer(app, deps)
    return live.add_routes(app, deps)


async def _home(_request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/staff/tickets")


def _choice(value: str | None, allowed: Any) -> str | None:
    return value if value and value in allowed else None


# --- the queue ---------------------------------------------------------------------------------------------
@guarded("agent")
async def queue_page(ctx: StaffContext) -> web.StreamResponse:
    query = ctx.request.query
    settings = ctx.deps.settings
    flt = QueueFilter(
        status=_choice(query.get("status"), STATUSES) or "active",
        department=_choice(query.get("department"), settings.departments),
        category=_choice(query.get("category"), settings.ticket_categories),
        priority=_choice(query.get("priority"), PRIORITIES),
        assignee_id=ctx.user.id if query.get("mine") == "1" else None,
    )
    if not ctx.can("manager"):
        departments = (ctx.user.department,) if ctx.user.department else ()
        flt = QueueFilter(**{**flt.__dict__, "only_departments": departments, "or_assignee": ctx.user.id})
    page_number = query.get("page", "1")
    async with ctx.deps.db.read() as session:
        queue = await ticket_queue(session, flt, page=int(page_number) if page_number.isdigit() and len(page_number) < 7 else 1)
    here = {key: value for key, value in query.items() if key != "page"}
    return ctx.page(
        "queue.html", ctx.t("dash.queue.title"), section="tickets", rows=queue.rows, queue=queue,
        page_url=lambda number: "/staff/tickets?" + urlencode({**here, "page": number}),
        state_url=lambda state: "/staff/tickets?" + urlencode({**here, "status": state}),
        mine=query.get("mine") == "1",
        chosen=flt, statuses=[(s, ctx.t(f"dash.status.{s}")) for s in STATUSES],
        departments=[(d, department(ctx, d)) for d in settings.departments],
        categories=[(c, category(ctx, c)) for c in settings.ticket_categories],
        priorities=[(p, ctx.t(f"priority.{p}")) for p in PRIORITIES],
    )


# --- one ticket ----------------------------------------------------------------------------------------------
class Loaded(NamedTuple):
    ticket: Ticket
    guest: Guest | None
    staff: list[StaffUser]
    held: bool  # the guest's conversation is with staff on this ticket (the bot only relays)


async def _load(ctx: StaffContext, ticket_id: int) -> Loaded | None:
    async with ctx.deps.db.read() as session:
        ticket = await session.get(Ticket, ticket_id)
        if ticket is None:
            return None
        guest = await session.get(Guest, ticket.guest_id)
        staff = await list_staff(session)
        state = await session.get(ConversationState, ticket.guest_id)
    held = state is not None and state.handoff and state.handoff_ticket_id == ticket.id
    return Loaded(ticket, guest, staff, held)


@guarded("agent")
async def ticket_page(ctx: StaffContext) -> web.StreamResponse:
    return await _render_ticket(ctx, int(ctx.request.match_info["ticket_id"]))


async def _render_ticket(ctx: StaffContext, ticket_id: int, *, error: str | None = None, status_code: int = 200) -> web.StreamResponse:
    loaded = await _load(ctx, ticket_id)
    if loaded is None:
        raise web.HTTPNotFound(text=ctx.t("card.error.not_found", ticket=ticket_id))
    ticket, guest, staff, held = loaded
    if not can_see(ctx.user, ticket):
        return forbidden(ctx.request)
    async with ctx.deps.db.read() as session:
        events, messages = await ticket_detail(session, ticket_id)
    names = {member.id: member.name for member in staff if member.id is not None}
    timeline = [
        TimelineEvent(local(ctx, event.created_at), ctx.t_or(f"dash.event.{event.kind}", event.kind),
                      _actor(ctx, event.actor, names), _note(ctx, event.note[:500]))
        for event in events
    ]
    earlier, lines = fold_before(transcript(ctx, messages, highlight_ticket=ticket.id, staff_names=names), ticket.id or 0)
    assignees = [(str(m.id), f"{m.name} · {department(ctx, m.department) if m.department else ctx.t('dash.role.' + m.role)}")
                 for m in staff if m.active and m.id is not None]
    return ctx.page(
        "ticket.html", f"#{ticket.id}", section="tickets", error=error, status=status_code,
        ticket=ticket, guest=guest, names=names, timeline=timeline, assignees=assignees,
        is_open=ticket.status in OPEN_STATUSES, held=held,
        may_reassign=ctx.can("manager") or ticket.assignee_id == ctx.user.id,
        earlier=earlier, lines=lines,
    )


class TimelineEvent(NamedTuple):
    """One line of a ticket's history, worded for the reader."""

    when: str
    what: str
    who: str
    note: str


_INTERNAL_NOTE = re.compile(r"[a-z][a-z -]{2,60}")  # "duty manager alerted": the bot's own words, not a person's


def _note(ctx: StaffContext, note: str) -> str:
    """The bot writes short English notes in the timeline ("duty manager alerted"); staff read them in
    their language (``dash.note.<words_joined>``). Notes people typed are shown as they are."""
    if not _INTERNAL_NOTE.fullmatch(note):
        return note
    return ctx.t_or("dash.note." + re.sub(r"[ -]+", "_", note), note)


def _actor(ctx: StaffContext, actor: str, names: dict[int, str]) -> str:
    staff_id = parse_number(actor.removeprefix("staff:")) if actor.startswith("staff:") else None
    if staff_id is not None:
        return names.get(staff_id, actor)
    return ctx.t_or(f"dash.author.{actor}", ctx.t_or(f"dash.channel.{actor}", actor))  # a channel: a held message


@guarded("agent")
async def ticket_action(ctx: StaffContext) -> web.StreamResponse:
    ticket_id = int(ctx.request.match_info["ticket_id"])
    action = ctx.request.match_info["action"]
    try:
        async with ctx.deps.db.write() as session:
            user = await session.get(StaffUser, ctx.user.id)
            assert user is not None
            if action == "claim":
                await claim(session, user, ticket_id)
            elif action == "reply":
                await reply(session, user, ticket_id, ctx.field("text"))
            elif action == "resolve":
                await resolve_ticket(session, ctx.deps.catalog, user, ticket_id, ctx.field("root_cause"))
            elif action == "reassign":
                assignee = parse_number(ctx.field("assignee"))
                if assignee is None:
                    raise WorkError("no_such_staff", ticket=ticket_id)
                await reassign(session, user, ticket_id, assignee)
            elif action == "handback":
                await hand_back(session, ctx.deps.catalog, user, ticket_id)
            else:
                await add_note(session, user, ticket_id, ctx.field("note"))
    except WorkError as error:
        if error.code == "forbidden":
            return forbidden(ctx.request)
        if error.code == "not_found":
            raise web.HTTPNotFound() from error
        message = ctx.t(f"card.error.{error.code}", **{"ticket": ticket_id, "name": "", "channel": "", **error.details})
        return await _render_ticket(ctx, ticket_id, error=message, status_code=409)
    ctx.deps.deliverer.wake()
    done = {"claim": "claimed", "reply": "replied", "resolve": "resolved", "reassign": "reassigned", "note": "noted",
            "handback": "handed_back"}[action]
    raise web.HTTPSeeOther(url(f"/staff/tickets/{ticket_id}", done=done), headers=SECURITY_HEADERS)
