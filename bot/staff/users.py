"""User administration (admins): list staff, add a member, deactivate / reactivate one."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import delete

from bot.staff.auth import SECURITY_HEADERS, StaffContext, guarded
from bot.staff.formatting import department
from bot.staff.html import csrf_field, fmt, join, options, table, url
from crm.models import AuditLog, StaffSession, StaffUser
from crm.staff import ROLES, StaffError, add_staff, list_staff


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/staff/users", users_page)
    router.add_post("/staff/users", create_user)
    router.add_post("/staff/users/{staff_id:\\d+}/active", toggle_user)


async def _page(ctx: StaffContext, *, error: str | None = None, status: int = 200) -> web.Response:
    async with ctx.deps.db.read() as session:
        staff = await list_staff(session)
    token = csrf_field(ctx.csrf)
    rows = [
        (
            member.name,
            ctx.t(f"dash.role.{member.role}"),
            department(ctx, member.department) if member.department else "—",
            ctx.t("dash.yes") if member.telegram_user_id else ctx.t("dash.no"),
            fmt('<form method="post" action="/staff/users/{}/active" class="inline">{}<button>{}</button></form>',
                member.id, token, ctx.t("dash.users.deactivate" if member.active else "dash.users.activate"))
            if member.id != ctx.user.id else ctx.t("dash.users.you"),
        )
        for member in staff
    ]
    listing = table([ctx.t("dash.field.name"), ctx.t("dash.field.role"), ctx.t("dash.field.department"),
                     "Telegram", ""], rows)
    departments = ctx.deps.settings.departments
    form = fmt(
        """<form method="post" action="/staff/users" class="card narrow">{token}
<label>{name}<input name="name" required maxlength="100" autocomplete="off"></label>
<label>{role}<select name="role">{roles}</select></label>
<label>{dept}<select name="department">{departments}</select></label>
<label>Telegram user id<input name="telegram_id" inputmode="numeric" pattern="[0-9]*" maxlength="15"></label>
<label>{password}<input name="password" type="password" required minlength="8" autocomplete="new-password"></label>
<button>{add}</button></form>""",
        token=token, name=ctx.t("dash.field.name"), role=ctx.t("dash.field.role"),
        roles=options([(r, ctx.t(f"dash.role.{r}")) for r in ROLES], "agent"),
        dept=ctx.t("dash.field.department"),
        departments=options([(d, department(ctx, d)) for d in departments], None, blank="—"),
        password=ctx.t("dash.login.password"), add=ctx.t("dash.users.add"),
    )
    return ctx.page(ctx.t("dash.users.title"), join([listing, fmt("<h2>{}</h2>", ctx.t("dash.users.add")), form]),
                    section="users", error=error, status=status)


@guarded("admin")
async def users_page(ctx: StaffContext) -> web.StreamResponse:
    return await _page(ctx)


@guarded("admin")
async def create_user(ctx: StaffContext) -> web.StreamResponse:
    telegram = ctx.field("telegram_id").strip()
    chosen = ctx.field("department")
    try:
        async with ctx.deps.db.write() as session:
            await add_staff(
                session, ctx.field("name"), ctx.field("role"), ctx.field("password"),
                department=chosen if chosen in ctx.deps.settings.departments else None,
                telegram_user_id=int(telegram) if telegram.isdigit() else None,
                actor=ctx.actor,
            )
    except StaffError as error:
        return await _page(ctx, error=str(error), status=400)
    raise web.HTTPSeeOther(url("/staff/users", done="saved"), headers=SECURITY_HEADERS)


@guarded("admin")
async def toggle_user(ctx: StaffContext) -> web.StreamResponse:
    staff_id = int(ctx.request.match_info["staff_id"])
    async with ctx.deps.db.write() as session:
        member = await session.get(StaffUser, staff_id)
        if member is None:
            raise web.HTTPNotFound()
        if member.id != ctx.user.id:
            member.active = not member.active
            if not member.active:  # signed out everywhere at once
                await session.execute(delete(StaffSession).where(StaffSession.staff_id == member.id))  # type: ignore[arg-type]
            session.add(AuditLog(actor=ctx.actor, action="staff.active" if member.active else "staff.inactive",
                                 target=f"staff:{member.id}"))
    raise web.HTTPSeeOther(url("/staff/users", done="saved"), headers=SECURITY_HEADERS)
