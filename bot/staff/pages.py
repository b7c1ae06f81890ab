"""How the dashboard turns data into pages: Jinja2 templates (aiohttp-jinja2) and static files.

- Templates live in ``bot/staff/templates``; the environment autoescapes everything, so guest text can
  only ever appear as text. The few pieces of markup built in Python (the SVG charts) are
  ``markupsafe.Markup`` built with ``Markup.format``, which escapes its arguments the same way.
- The environment sits under an app key of its own: the dashboard shares its ``web.Application`` with
  the guest chat, and must not take the default key another part of the app might want.
- Templates are loaded once and cached (no file-system check per render), so rendering a page is plain
  CPU work on the loop, like the string building it replaced.
- ``staff.css`` / ``staff.js`` are served by aiohttp's static route (ETag, Last-Modified, 304). Pages link
  them with a content hash in the query (``?v=…``), so a browser may keep them for a year and still gets
  a new file the moment one is deployed; the bare URL is revalidated every time instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot import static_files
from bot.staff.formatting import category, department, guest_label, label, local, preference, room_type, sla, url

STATIC_PREFIX: Final = "/staff/static"
# A row id in a URL: at most 18 digits always fits the databases' 64-bit integers, so a longer one is
# simply no such page (404) instead of an overflow inside the query.
ROW_ID: Final = r"\d{1,18}"
STATIC_DIR: Final = Path(__file__).resolve().parent / "static"
ASSETS: Final = ("staff.css", "staff.js")
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
VERSIONED_CACHE: Final = "public, max-age=31536000, immutable"  # the URL changes whenever the file does
UNVERSIONED_CACHE: Final = "no-cache"  # keep a copy, but ask (a cheap 304) before using it
TEMPLATES_KEY: Final = web.AppKey("staff_templates", jinja2.Environment)


def setup_pages(app: web.Application) -> jinja2.Environment:
    """Templates, the static route and the static files' headers for the dashboard on ``app``."""
    resource = app.router.add_static(STATIC_PREFIX, STATIC_DIR, name="staff-static", append_version=True)
    # Hash the files once here: url_for(append_version=True) reads the whole file on every call. (So a file
    # edited while the server runs keeps its old hash until a restart, which every deploy does.)
    versioned = {name: str(resource.url_for(filename=name)) for name in ASSETS}
    env = aiohttp_jinja2.setup(
        app,
        app_key=TEMPLATES_KEY,
        loader=jinja2.PackageLoader("bot.staff", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a misspelt name fails the test instead of rendering blank
        auto_reload=False,
        trim_blocks=True,
        keep_trailing_newline=True,
        lstrip_blocks=True,
        default_helpers=False,  # its url()/static() want named routes and a static root we do not use
    )
    env.globals.update(
        url=url, local=local, category=category, department=department, sla=sla, label=label,
        guest_label=guest_label, room_type=room_type, preference=preference,
        static_url=lambda name: versioned.get(name) or f"{STATIC_PREFIX}/{name}",
    )
    app.on_response_prepare.append(_static_headers)
    return env


async def _static_headers(request: web.Request, response: web.StreamResponse) -> None:
    """The dashboard's security headers on its static files too, with a cache policy instead of no-store."""
    if not request.path.startswith(STATIC_PREFIX + "/"):
        return
    static_files.apply(response, SECURITY_HEADERS, VERSIONED_CACHE if "v" in request.query else UNVERSIONED_CACHE)


def render(request: web.Request, template: str, context: Mapping[str, Any], *, status: int = 200) -> web.Response:
    """A page from a template, with the dashboard's security headers (CSP, no-store …)."""
    page = aiohttp_jinja2.render_string(template, request, context, app_key=TEMPLATES_KEY)
    return html_response(page, status=status)


def html_response(page: str, *, status: int = 200) -> web.Response:
    return web.Response(text=page, status=status, content_type="text/html", charset="utf-8", headers=SECURITY_HEADERS)
