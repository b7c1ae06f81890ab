"""The staff dashboard under /staff: routes, the ticket queue and the ticket page with its actions.

Pages are server-rendered HTML (escaped by ``bot.staff.html``), work without JavaScript and fit a phone;
``staff.js`` only keeps SLA countdowns ticking. Actions POST a form with the CSRF token and redirect back
(so a reload never repeats them). Logs and guest profiles live in ``logs``, reports and CSV in
``reports``, user administration in ``users`` (all in this package).
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from aiohttp import web

from bot.staff import logs, reports, users
from bot.staff.auth import (
    SECURITY_HEADERS,
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
from bot.staff.formatting import (
    category,
    conversation,
    countdown,
    department,
    local,
    priority,
    status,
)
from bot.staff.html import Html, csrf_field, fmt, join, options, url
from bot.staff.search import start_indexer
from crm.models import Guest, StaffUser, Ticket
from crm.reports import QueueFilter, ticket_detail, ticket_queue
from crm.staff import list_staff
from crm.ticket_work import (
    OPEN_STATUSES,
    WorkError,
    add_note,
    can_see,
    claim,
    reassign,
    reply,
)
from handlers.ticket_actions import resolve_ticket

STATUSES = ("active", "open", "claimed", "resolved", "closed", "all")
PRIORITIES = ("low", "normal", "high", "urgent")


def add_staff_routes(app: web.Application, deps: StaffDeps) -> None:
    """Mount the dashboard on the web app, with what it needs from the running service."""
    app[DEPS_KEY] = deps
    app[THROTTLE_KEY] = LoginThrottle()
    router = app.router
    router.add_get("/staff", _home)
    router.add_get("/staff/", _home)
    router.add_get("/staff/login", login_page)
    router.add_post("/staff/login", login_submit)
    router.add_post("/staff/logout", logout)
    router.add_get("/staff/lang", switch_language)
    router.add_get("/staff/static/{name}", _static)
    router.add_get("/staff/tickets", queue_page)
    router.add_get("/staff/tickets/{ticket_id:\\d+}", ticket_page)
    router.add_post("/staff/tickets/{ticket_id:\\d+}/{action:claim|reply|resolve|reassign|note}", ticket_action)
    logs.add_routes(router)
    reports.add_routes(router)
    users.add_routes(router)
    start_indexer(app, deps)


async def _home(_request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/staff/tickets")


_STATIC = {"staff.css": "text/css", "staff.js": "application/javascript"}


async def _static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in _STATIC:
        raise web.HTTPNotFound()
    body = resources.files("bot.staff").joinpath("static", name).read_bytes()
    return web.Response(body=body, content_type=_STATIC[name], charset="utf-8",
                        headers={**SECURITY_HEADERS, "Cache-Control": "max-age=300"})


def _choice(value: str | None, allowed: Any) -> str | None:
    return value if value and value in allowed else None


# --- the queue ---------------------------------------------------------------------------------------------
@guarded("agent")
async def queue_page(ctx: StaffContext) -> web.StreamResponse:
    query = ctx.request.query
    settings = ctx.deps.settings
    chosen_status = _choice(query.get("status"), STATUSES) or "active"
    flt = QueueFilter(
        status=chosen_status,
        department=_choice(query.get("department"), settings.departments),
        category=_choice(query.get("category"), settings.ticket_categories),
        priority=_choice(query.get("priority"), PRIORITIES),
        assignee_id=ctx.user.id if query.get("mine") == "1" else None,
    )
    if not ctx.can("manager"):
        departments = (ctx.user.department,) if ctx.user.department else ()
        flt = QueueFilter(**{**flt.__dict__, "only_departments": departments, "or_assignee": ctx.user.id})
    async with ctx.deps.db.read() as session:
        rows = await ticket_queue(session, flt)
    filters = fmt(
        """<form method="get" class="filters">
<select name="status" aria-label="{sl}">{statuses}</select>
<select name="department" aria-label="{dl}">{departments}</select>
<select name="category" aria-label="{cl}">{categories}</select>
<select name="priority" aria-label="{pl}">{priorities}</select>
<label class="check"><input type="checkbox" name="mine" value="1"{mine}> {mine_label}</label>
<button>{apply}</button></form>""",
        sl=ctx.t("dash.field.status"), dl=ctx.t("dash.field.department"), cl=ctx.t("dash.field.category"),
        pl=ctx.t("dash.field.priority"),
        statuses=options([(s, ctx.t(f"dash.status.{s}")) for s in STATUSES], chosen_status),
        departments=options([(d, department(ctx, d)) for d in settings.departments], flt.department,
                            blank=ctx.t("dash.all_departments")),
        categories=options([(c, category(ctx, c)) for c in settings.ticket_categories], flt.category,
                           blank=ctx.t("dash.all_categories")),
        priorities=options([(p, ctx.t(f"priority.{p}")) for p in PRIORITIES], flt.priority,
                           blank=ctx.t("dash.all_priorities")),
        mine=Html(" checked") if query.get("mine") == "1" else Html(""), mine_label=ctx.t("dash.mine"),
        apply=ctx.t("dash.apply"),
    )
    cards = []
    for row in rows:
        ticket = row.ticket
        guest_name = (row.guest.name if row.guest and row.guest.name else ctx.t("staff.unknown_guest"))
        due = countdown(ctx, ticket.resolve_due, ticket.resolved_at)
        cards.append(fmt(
            """<li class="ticket"><a href="/staff/tickets/{id}"><span class="num">#{id}</span>
<span class="what">{category} · {department}</span> {priority} {status}
<span class="summary">{summary}</span>
<span class="meta">{guest}{room} · {assignee} · {due}</span></a></li>""",
            id=ticket.id, category=category(ctx, ticket.category), department=department(ctx, ticket.department),
            priority=priority(ctx, ticket), status=status(ctx, ticket), summary=ticket.summary[:160],
            guest=guest_name, room=f" · {ticket.room_number}" if ticket.room_number else "",
            assignee=row.assignee.name if row.assignee else ctx.t("dash.unassigned"), due=due,
        ))
    listing = fmt('<ul class="queue">{}</ul>', join(cards)) if cards else fmt('<p class="muted">{}</p>', ctx.t("dash.none"))
    return ctx.page(ctx.t("dash.queue.title"), join([filters, listing]), section="tickets")


# --- one ticket ----------------------------------------------------------------------------------------------
async def _load(ctx: StaffContext, ticket_id: int) -> tuple[Ticket, Guest | None, list[StaffUser]] | None:
    async with ctx.deps.db.read() as session:
        ticket = await session.get(Ticket, ticket_id)
        if ticket is None:
            return None
        guest = await session.get(Guest, ticket.guest_id)
        staff = await list_staff(session)
    return ticket, guest, staff


@guarded("agent")
async def ticket_page(ctx: StaffContext) -> web.StreamResponse:
    return await _render_ticket(ctx, int(ctx.request.match_info["ticket_id"]))


async def _render_ticket(ctx: StaffContext, ticket_id: int, *, error: str | None = None, status_code: int = 200) -> web.StreamResponse:
    loaded = await _load(ctx, ticket_id)
    if loaded is None:
        raise web.HTTPNotFound(text=ctx.t("card.error.not_found", ticket=ticket_id))
    ticket, guest, staff = loaded
    if not can_see(ctx.user, ticket):
        return forbidden(ctx.request)
    async with ctx.deps.db.read() as session:
        events, messages = await ticket_detail(session, ticket_id)
    names = {member.id: member.name for member in staff if member.id is not None}
    guest_label = guest.name if guest and guest.name else ctx.t("staff.unknown_guest")
    facts = fmt(
        """<section class="card facts">
<p>{category} · {department} {priority} {status}</p>
<p>{guest_label}: <a href="/staff/guests/{guest_id}">{guest}</a>{room} · {channel}</p>
<p>{assignee_label}: {assignee}</p>
<p>{respond_label}: {respond} · {resolve_label}: {resolve}</p>
<p>{created_label}: {created}</p>
{root}
<blockquote class="words">{summary}</blockquote>
</section>""",
        category=category(ctx, ticket.category), department=department(ctx, ticket.department),
        priority=priority(ctx, ticket), status=status(ctx, ticket), guest_label=ctx.t("dash.field.guest"),
        guest_id=ticket.guest_id, guest=guest_label, room=f" · {ctx.t('dash.field.room')} {ticket.room_number}" if ticket.room_number else "",
        channel=ticket.channel, assignee_label=ctx.t("dash.field.assignee"),
        assignee=names.get(ticket.assignee_id or -1, ctx.t("dash.unassigned")),
        respond_label=ctx.t("dash.field.respond_due"), respond=countdown(ctx, ticket.respond_due, ticket.first_response_at),
        resolve_label=ctx.t("dash.field.resolve_due"), resolve=countdown(ctx, ticket.resolve_due, ticket.resolved_at),
        created_label=ctx.t("dash.field.created"), created=local(ctx, ticket.created_at),
        root=fmt("<p>{}: {}</p>", ctx.t("dash.field.root_cause"), ticket.root_cause) if ticket.root_cause else Html(""),
        summary=ticket.summary,
    )
    actions = _actions(ctx, ticket, staff)
    timeline = join(
        fmt('<li><span class="meta">{} · {} · {}</span> {}</li>', local(ctx, event.created_at),
            ctx.t_or(f"dash.event.{event.kind}", event.kind),
            _actor(ctx, event.actor, names), event.note[:500])
        for event in events
    )
    body = fmt(
        """{facts}{actions}
<section class="card"><h2>{conversation_title}</h2>{conversation}</section>
<section class="card"><h2>{timeline_title}</h2><ol class="timeline">{timeline}</ol></section>""",
        facts=facts, actions=actions, conversation_title=ctx.t("dash.conversation"),
        conversation=conversation(ctx, messages, highlight_ticket=ticket.id, staff_names=names),
        timeline_title=ctx.t("dash.timeline"), timeline=timeline,
    )
    return ctx.page(f"#{ticket.id}", body, section="tickets", error=error, status=status_code)


def _actor(ctx: StaffContext, actor: str, names: dict[int, str]) -> str:
    if actor.startswith("staff:") and actor[6:].isdigit():
        return names.get(int(actor[6:]), actor)
    return ctx.t("dash.author.bot") if actor == "bot" else actor


def _actions(ctx: StaffContext, ticket: Ticket, staff: list[StaffUser]) -> Html:
    base = f"/staff/tickets/{ticket.id}"
    token = csrf_field(ctx.csrf)
    parts: list[Html] = []
    reply_form = fmt(
        """<form method="post" action="{base}/reply" class="reply">{token}
<label>{label}<textarea name="text" rows="3" maxlength="4000" required></textarea></label>
<button type="submit" name="send">{send}</button></form>""",
        base=base, token=token, label=ctx.t("dash.reply.label"), send=ctx.t("dash.reply.send"),
    )
    parts.append(reply_form)
    if ticket.status in OPEN_STATUSES:
        if ticket.assignee_id != ctx.user.id:
            parts.append(fmt('<form method="post" action="{}/claim" class="inline">{}<button name="claim">{}</button></form>',
                             base, token, ctx.t("dash.action.claim")))
        if ctx.can("manager") or ticket.assignee_id == ctx.user.id:
            choices = [(str(m.id), f"{m.name} · {department(ctx, m.department) if m.department else ctx.t('dash.role.' + m.role)}")
                       for m in staff if m.active and m.id is not None]
            parts.append(fmt(
                """<form method="post" action="{}/reassign" class="inline">{}<select name="assignee" aria-label="{}">{}</select>
<button name="reassign">{}</button></form>""",
                base, token, ctx.t("dash.field.assignee"), options(choices, str(ticket.assignee_id or "")),
                ctx.t("dash.action.reassign")))
        parts.append(fmt(
            """<form method="post" action="{}/resolve" class="resolve">{}
<label>{}<textarea name="root_cause" rows="2" maxlength="2000"></textarea></label>
<button name="resolve">{}</button></form>""",
            base, token, ctx.t("dash.field.root_cause"), ctx.t("dash.action.resolve")))
    else:
        parts.append(fmt(
            """<form method="post" action="{}/note" class="resolve">{}
<label>{}<textarea name="note" rows="2" maxlength="2000" required></textarea></label>
<button name="note">{}</button></form>""",
            base, token, ctx.t("dash.field.root_cause"), ctx.t("dash.action.note")))
    return fmt('<section class="card actions">{}</section>', join(parts))


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
                assignee = ctx.field("assignee")
                if not assignee.isdigit():
                    raise WorkError("no_such_staff", ticket=ticket_id)
                await reassign(session, user, ticket_id, int(assignee))
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
    done = {"claim": "claimed", "reply": "replied", "resolve": "resolved", "reassign": "reassigned", "note": "noted"}[action]
    raise web.HTTPSeeOther(url(f"/staff/tickets/{ticket_id}", done=done), headers=SECURITY_HEADERS)
