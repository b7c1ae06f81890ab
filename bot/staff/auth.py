"""Dashboard sessions, roles and CSRF for every staff route.

- The session cookie is random, HttpOnly, SameSite=Strict, scoped to /staff (Secure over HTTPS); the
  store keeps only its hash (crm.staff).
- Every POST must carry the session's CSRF token in a ``csrf`` form field (the login form uses a
  double-submit cookie, as there is no session yet). SameSite alone does not cover old browsers.
- ``guarded(role)`` wraps each handler: no session → redirect to the login page; role too low → 403.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from bot.client_address import is_secure
from bot.staff.deps import StaffDeps, deps_of
from bot.staff.pages import SECURITY_HEADERS, render
from crm.models import StaffUser
from crm.staff import LoggedIn, authenticate, close_session, open_session, resolve_session, role_at_least
from handlers.i18n import LOCALES, Catalog

SESSION_COOKIE = "concierge_staff"
LOGIN_COOKIE = "concierge_login"
LANG_COOKIE = "concierge_staff_lang"
LANGUAGE_NAMES = (("zh-Hans", "简"), ("zh-Hant", "繁"), ("en", "EN"))
MAX_FAILURES = 5
LOCKOUT_SECONDS = 300


@dataclass
class StaffContext:
    """One request of a logged-in staff member: who, their CSRF token, language and the submitted form."""

    deps: StaffDeps
    request: web.Request
    user: StaffUser
    csrf: str
    locale: str
    form: MultiDictProxy[Any] | None = None
    catalog: Catalog = field(init=False)

    def __post_init__(self) -> None:
        self.catalog = self.deps.catalog

    def t(self, key: str, **values: object) -> str:
        return self.catalog.text(self.locale, key, **values)

    def t_or(self, key: str, fallback: str) -> str:
        """Wording for an open-ended code (event kinds other layers add): the code itself when unknown."""
        return self.t(key) if key in self.catalog.keys(self.locale) or key in self.catalog.keys("zh-Hans") else fallback

    @property
    def actor(self) -> str:
        return f"staff:{self.user.id}"

    def can(self, role: str) -> bool:
        return role_at_least(self.user.role, role)

    def field(self, name: str, default: str = "") -> str:
        value = self.form.get(name) if self.form is not None else None
        return value if isinstance(value, str) else default

    def page(
        self, template: str, title: str, *, status: int = 200, section: str = "", error: str | None = None,
        **values: object,
    ) -> web.Response:
        """A dashboard page: ``template`` inside the layout, with this member's nav, logout and language."""
        nav = [("/staff/tickets", self.t("dash.nav.tickets"), section == "tickets")]
        if self.can("manager"):
            nav += [("/staff/logs", self.t("dash.nav.logs"), section == "logs"),
                    ("/staff/reports", self.t("dash.nav.reports"), section == "reports")]
        if self.can("admin"):
            nav.append(("/staff/users", self.t("dash.nav.users"), section == "users"))
        flash_key = self.request.query.get("done", "")
        return render(self.request, template, {
            **values,
            "ctx": self, "t": self.t, "lang": self.locale, "title": title, "nav": nav, "csrf": self.csrf,
            "user_label": f"{self.user.name} · {self.t('dash.role.' + self.user.role)}",
            "languages": LANGUAGE_NAMES, "error": error,
            "flash": self.t_or(f"dash.done.{flash_key}", "") or None if flash_key.isidentifier() else None,
        }, status=status)


Handler = Callable[[StaffContext], Awaitable[web.StreamResponse]]


def secure_request(request: web.Request) -> bool:
    """HTTPS as the browser sees it (a trusted proxy may terminate TLS), so cookies get ``Secure``."""
    return is_secure(request, deps_of(request).settings.http.trusted_proxies)


def locale_of(request: web.Request) -> str:
    chosen = request.cookies.get(LANG_COOKIE, "")
    return chosen if chosen in LOCALES else deps_of(request).settings.default_language


def _safe_next(target: str) -> str:
    """Only our own dashboard pages: an open redirect would make a phishing link look like ours."""
    return target if target.startswith("/staff") and not target.startswith("//") and "\\" not in target else "/staff/tickets"


def plain_page(request: web.Request, template: str, title_key: str, status: int, *, error: str | None = None,
               **values: object) -> web.Response:
    """A page for someone not (or not properly) logged in: no nav, no logout, but the language switch."""
    catalog = deps_of(request).catalog
    locale = locale_of(request)

    def t(key: str, **fields: object) -> str:
        return catalog.text(locale, key, **fields)

    return render(request, template, {
        **values,
        "t": t, "lang": locale, "title": t(title_key), "nav": (), "csrf": "", "user_label": "",
        "languages": LANGUAGE_NAMES, "flash": None, "error": error,
    }, status=status)


def forbidden(request: web.Request, key: str = "dash.forbidden") -> web.Response:
    message = deps_of(request).catalog.text(locale_of(request), key)
    return plain_page(request, "message.html", "dash.forbidden_title", 403, message=message)


async def current(request: web.Request) -> LoggedIn | None:
    token = request.cookies.get(SESSION_COOKIE, "")
    if not token:
        return None
    async with deps_of(request).db.read() as session:
        return await resolve_session(session, token)


def guarded(role: str) -> Callable[[Handler], Callable[[web.Request], Awaitable[web.StreamResponse]]]:
    """Session, role and (for POST) CSRF checks in front of a handler."""

    def wrap(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def route(request: web.Request) -> web.StreamResponse:
            logged_in = await current(request)
            if logged_in is None:
                target = request.path_qs if request.method == "GET" else "/staff/tickets"
                raise web.HTTPSeeOther(f"/staff/login?next={_quote(target)}", headers=SECURITY_HEADERS)
            if not role_at_least(logged_in.user.role, role):
                return forbidden(request)
            form = None
            if request.method == "POST":
                form = await request.post()
                given = form.get("csrf")
                if not isinstance(given, str) or not hmac.compare_digest(given.encode(), logged_in.csrf_token.encode()):
                    return forbidden(request, "dash.csrf_failed")
            context = StaffContext(deps_of(request), request, logged_in.user, logged_in.csrf_token,
                                   locale_of(request), form)
            return await handler(context)

        route.__name__ = handler.__name__
        route.__doc__ = handler.__doc__
        return route

    return wrap


def _quote(target: str) -> str:
    from urllib.parse import quote

    return quote(target, safe="")


# --- login / logout ------------------------------------------------------------------------------------------
class LoginThrottle:
    """Slows password guessing: after MAX_FAILURES for one name, that name is locked for a while."""

    def __init__(self) -> None:
        self._failures: dict[str, list[float]] = {}

    def locked(self, name: str) -> bool:
        recent = [t for t in self._failures.get(name, []) if time.monotonic() - t < LOCKOUT_SECONDS]
        self._failures[name] = recent
        return len(recent) >= MAX_FAILURES

    def failed(self, name: str) -> None:
        if len(self._failures) > 10_000:
            self._failures.clear()
        self._failures.setdefault(name, []).append(time.monotonic())

    def succeeded(self, name: str) -> None:
        self._failures.pop(name, None)


THROTTLE_KEY = web.AppKey("staff_login_throttle", LoginThrottle)


def _login_form(request: web.Request, token: str, error: str | None, status: int = 200) -> web.Response:
    response = plain_page(request, "login.html", "dash.login.title", status, error=error, token=token,
                          next=_safe_next(request.query.get("next", "/staff/tickets")))
    response.set_cookie(LOGIN_COOKIE, token, path="/staff/login", httponly=True, samesite="Strict",
                        secure=secure_request(request), max_age=3600)
    return response


async def login_page(request: web.Request) -> web.StreamResponse:
    if await current(request) is not None:
        raise web.HTTPSeeOther(_safe_next(request.query.get("next", "/staff/tickets")))
    return _login_form(request, secrets.token_urlsafe(24), None)


async def login_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    catalog = deps_of(request).catalog
    locale = locale_of(request)
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    given = form.get("csrf")
    if not cookie or not isinstance(given, str) or not hmac.compare_digest(given.encode(), cookie.encode()):
        return forbidden(request, "dash.csrf_failed")
    name, password = str(form.get("name") or "")[:100], str(form.get("password") or "")[:200]
    throttle = request.app[THROTTLE_KEY]
    if throttle.locked(name):
        return _login_form(request, secrets.token_urlsafe(24), catalog.text(locale, "dash.login.locked"), 429)
    async with deps_of(request).db.write() as session:
        user = await authenticate(session, name, password)
        token = await open_session(session, user) if user is not None else None
    if token is None:
        throttle.failed(name)
        return _login_form(request, secrets.token_urlsafe(24), catalog.text(locale, "dash.login.failed"), 401)
    throttle.succeeded(name)
    response = web.HTTPSeeOther(_safe_next(str(form.get("next") or "/staff/tickets")), headers=SECURITY_HEADERS)
    response.set_cookie(SESSION_COOKIE, token, path="/staff", httponly=True, samesite="Strict", secure=secure_request(request))
    response.del_cookie(LOGIN_COOKIE, path="/staff/login")
    raise response


@guarded("agent")
async def logout(ctx: StaffContext) -> web.StreamResponse:
    async with ctx.deps.db.write() as session:
        await close_session(session, ctx.request.cookies.get(SESSION_COOKIE, ""))
    response = web.HTTPSeeOther("/staff/login", headers=SECURITY_HEADERS)
    response.del_cookie(SESSION_COOKIE, path="/staff")
    raise response


async def switch_language(request: web.Request) -> web.StreamResponse:
    """A display preference only (no state on the server), so a plain link may set it."""
    chosen = request.query.get("to", "")
    back = request.headers.get("Referer", "")
    path = "/staff/tickets"
    if back:
        from urllib.parse import urlsplit

        parts = urlsplit(back)
        if parts.netloc == request.host and parts.path.startswith("/staff") and not parts.path.startswith("/staff/lang"):
            path = parts.path + (f"?{parts.query}" if parts.query else "")
    response = web.HTTPSeeOther(_safe_next(path), headers=SECURITY_HEADERS)
    if chosen in LOCALES:
        response.set_cookie(LANG_COOKIE, chosen, path="/staff", samesite="Lax", max_age=365 * 86400, secure=secure_request(request))
    raise response
