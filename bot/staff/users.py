"""User administration (admins): list staff, add a member, deactivate / reactivate one."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import delete

from bot.staff.auth import LANGUAGE_NAMES, StaffContext, guarded
from bot.staff.formatting import department, url
from bot.staff.pages import ROW_ID, SECURITY_HEADERS
from crm.models import AuditLog, StaffSession, StaffUser
from crm.staff import ROLES, StaffError, add_staff, list_staff
from handlers.types import parse_number


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/staff/users", users_page)
    router.add_post("/staff/users", create_user)
    router.add_post(f"/staff/users/{{staff_id:{ROW_ID}}}/active", toggle_user)


async def _page(ctx: StaffContext, *, error: str | None = None, status: int = 200) -> web.Response:
    async with ctx.deps.db.read() as session:
        staff = await list_staff(session)
    return ctx.page(
        "users.html", ctx.t("dash.users.title"), section="users", error=error, status=status, staff=staff,
        roles=[(r, ctx.t(f"dash.role.{r}")) for r in ROLES],
        departments=[(d, department(ctx, d)) for d in ctx.deps.settings.departments],
        staff_languages=[(code, name) for code, name in LANGUAGE_NAMES if code in ctx.deps.settings.languages],
    )


@guarded("admin")
async def users_page(ctx: StaffContext) -> web.StreamResponse:
    return await _page(ctx)


@guarded("admin")
async def create_user(ctx: StaffContext) -> web.StreamResponse:
    telegram = ctx.field("telegram_id").strip()
    chosen = ctx.field("department")
    language = ctx.field("language")
    try:
        async with ctx.deps.db.write() as session:
            member = await add_staff(
                session, ctx.field("name"), ctx.field("role"), ctx.field("password"),
                department=chosen if chosen in ctx.deps.settings.departments else None,
                telegram_user_id=parse_number(telegram),
                actor=ctx.actor,
            )
            member.language = language if language in ctx.deps.settings.languages else None  # Telegram wording
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
