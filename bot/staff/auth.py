"""Dashboard sessions, roles and CSRF for every staff route.

- The session cookie is random, HttpOnly, SameSite=Strict, scoped to /staff (Secure over HTTPS); the
  store keeps only its hash (crm.staff).
- Every POST must carry the session's CSRF token in a ``csrf`` form field (the login form uses a
  double-submit cookie, as there is no session yet). SameSite alone does not cover old browsers.
- ``guarded(role)`` wraps each handler: no session → redirect to the login page; role too low → 403.
"""

from __future__ import annotations

import asyncio
import hmac
import os
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from bot.client_address import client_address, is_secure
from bot.client_limits import Backoff, Gate, TooMany
from bot.config import LimitsSettings
from bot.staff.deps import StaffDeps, deps_of
from bot.staff.pages import SECURITY_HEADERS, render
from crm.models import StaffUser
from crm.staff import (
    LoggedIn,
    LoginCandidate,
    Verified,
    check_password,
    close_session,
    finish_login,
    login_candidate,
    login_key,
    open_session,
    resolve_session,
    role_at_least,
)
from handlers.i18n import LOCALES, Catalog

SESSION_COOKIE = "concierge_staff"
LOGIN_COOKIE = "concierge_login"
LANG_COOKIE = "concierge_staff_lang"
LANGUAGE_NAMES = (("zh-Hans", "简"), ("zh-Hant", "繁"), ("en", "EN"))


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
    """Slows password guessing without handing anyone a way to lock the owner out.

    Failures are counted per normalised name (``crm.staff.login_key``: every spelling that logs in as one
    account is one key) and per client address (``bot.client_address``: a trusted proxy's
    X-Forwarded-For, else the peer). Past the free failures each further try waits 1, 2, 4 … s, at most
    ``limits.login_max_delay_seconds``; then the right password works. Password checks run in worker
    threads, a few at a time (``limits.login_verifications``), with a bounded queue: a login flood costs
    those threads, never the event loop every guest's conversation runs on.
    """

    def __init__(self, limits: LimitsSettings, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.by_name = Backoff(limits.login_free_failures_per_name, limits.login_max_delay_seconds, clock=clock)
        self.by_address = Backoff(limits.login_free_failures_per_address, limits.login_max_delay_seconds, clock=clock)
        self.checks = Gate(limits.login_verifications, limits.login_waiting)
        # Off the loop is not enough on a small machine: argon2 runs several lanes in threads of its own and
        # would still take the cores from the guests' event loop. These threads (and the lanes they start,
        # which inherit it) run at the lowest CPU priority: a login waits for the guests, not the reverse.
        self._threads = ThreadPoolExecutor(limits.login_verifications, thread_name_prefix="password-check",
                                           initializer=_lowest_priority)

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)

    def wait(self, key: str, address: str) -> float:
        return max(self.by_name.wait(key), self.by_address.wait(address))

    def attempt(self, key: str, address: str) -> float:
        """Seconds to wait, or 0 and the try counted as a failure now, before its check: tries sent at once
        would otherwise all find the counter where it was and all be checked."""
        wait = self.wait(key, address)
        if wait == 0:
            self.failed(key, address)
        return wait

    def failed(self, key: str, address: str) -> None:
        self.by_name.failed(key)
        self.by_address.failed(address)

    def succeeded(self, key: str, address: str) -> None:
        """The right password: the name starts afresh, and the address gets back the try counted for it."""
        self.by_name.reset(key)
        self.by_address.refund(address)

    def unchecked(self, key: str, address: str) -> None:
        """A try refused before its check (the queue was full) was no guess."""
        self.by_name.refund(key)
        self.by_address.refund(address)

    async def verify(self, candidate: LoginCandidate, password: str) -> Verified | None:
        """The argon2 check in a thread, once a check slot is free; ``TooMany`` when too many wait."""
        async with self.checks.enter():
            return await asyncio.get_running_loop().run_in_executor(self._threads, check_password, candidate, password)


def _lowest_priority() -> None:
    """Renice the calling thread (Linux schedules threads as tasks: a thread id is a valid ``who``)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except (AttributeError, OSError):  # not Linux, or not allowed: the bounded gate still applies
        pass


THROTTLE_KEY = web.AppKey("staff_login_throttle", LoginThrottle)


def _too_many(request: web.Request, retry_after: TooMany) -> web.Response:
    message = deps_of(request).catalog.text(locale_of(request), "dash.login.locked", seconds=retry_after.header)
    response = _login_form(request, secrets.token_urlsafe(24), message, 429)
    response.headers["Retry-After"] = retry_after.header
    return response


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
    deps = deps_of(request)
    throttle = request.app[THROTTLE_KEY]
    key, address = login_key(name), client_address(request, deps.settings.http.trusted_proxies)
    wait = throttle.attempt(key, address)
    if wait > 0:
        return _too_many(request, TooMany(wait))
    async with deps.db.read() as session:
        candidate = await login_candidate(session, name)
    try:
        verified = await throttle.verify(candidate, password)  # between transactions: no lock held meanwhile
    except TooMany as busy:
        throttle.unchecked(key, address)
        return _too_many(request, busy)
    token = None
    if verified is not None:
        async with deps.db.write() as session:
            user = await finish_login(session, verified)
            token = await open_session(session, user) if user is not None else None
    if token is None:
        return _login_form(request, secrets.token_urlsafe(24), catalog.text(locale, "dash.login.failed"), 401)
    throttle.succeeded(key, address)
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
