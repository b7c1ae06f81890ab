"""The dashboard's and the chat page's delivery: templates that autoescape, static files with validators
and cache headers, and nothing loaded from another origin. Through the real web app, as a browser sees it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from html.parser import HTMLParser

import aiohttp
import pytest
from sqlalchemy import update

from bot.app import Concierge
from bot.staff.pages import SECURITY_HEADERS
from crm.models import Guest
from tests.staff_helpers import ADMIN, AGENT, MANAGER, add_team, base, client, login, say

STAFF_CSP = SECURITY_HEADERS["Content-Security-Policy"]
CHAT_CSP = "default-src 'self'; connect-src 'self'; frame-ancestors 'none'"  # no http.embed_origins: framed nowhere
EVIL_NAME = '<script>alert(1)</script>"onmouseover=alert(2) x="'
EVIL_TEXT = '转人工 <script>alert(3)</script> "onmouseover=alert(4) y="'


@pytest.fixture
async def app(web_bot: Concierge) -> AsyncIterator[Concierge]:
    await add_team(web_bot)
    yield web_bot


class _Assets(HTMLParser):
    """The scripts and stylesheets a page loads."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.styles: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and values.get("src"):
            self.scripts.append(values["src"] or "")
        if tag == "link" and "stylesheet" in (values.get("rel") or "").split():
            self.styles.append(values.get("href") or "")


def _assets(page: str) -> _Assets:
    parser = _Assets()
    parser.feed(page)
    return parser


async def _revalidates(http: aiohttp.ClientSession, url: str, csp: str) -> str:
    """Fetch, then fetch again with the ETag: the second answer is a bodiless 304. Returns Cache-Control."""
    async with http.get(url) as first:
        body = await first.read()
        assert first.status == 200 and body, url
        etag, cache = first.headers.get("ETag"), first.headers.get("Cache-Control")
        assert etag and cache, (url, dict(first.headers))
        assert first.headers.get("Last-Modified"), url
        assert first.headers["Content-Security-Policy"] == csp, url
        assert first.headers["X-Content-Type-Options"] == "nosniff", url
        assert first.charset == "utf-8", url
    async with http.get(url, headers={"If-None-Match": etag}) as again:
        assert again.status == 304, url
        assert await again.read() == b"", url
        assert again.headers.get("ETag") == etag, url
        assert again.headers["Cache-Control"] == cache, url
        assert again.headers["Content-Security-Policy"] == csp, url
    async with http.get(url, headers={"If-None-Match": '"something-else"'}) as changed:
        assert changed.status == 200 and await changed.read() == body, url  # another version: the file again
    return cache


async def test_static_files_answer_304_to_their_etag_with_cache_and_csp_headers(app: Concierge) -> None:
    async with client() as http:
        async with http.get(base(app) + "/staff/login") as response:
            login_page = await response.text()
        linked = _assets(login_page)
        versioned = linked.styles + linked.scripts
        assert len(versioned) == 2 and all("?v=" in url for url in versioned)  # the page links hashed URLs
        for url in versioned:  # ... which may be kept for a year: a new file gets a new URL
            cache = await _revalidates(http, base(app) + url, STAFF_CSP)
            assert "immutable" in cache and "max-age=31536000" in cache
        for name in ("staff.css", "staff.js"):  # a bare URL is revalidated on every use
            assert await _revalidates(http, base(app) + f"/staff/static/{name}", STAFF_CSP) == "no-cache"
        for path in ("/", "/static/chat.js", "/static/chat.css"):
            assert await _revalidates(http, base(app) + path, CHAT_CSP) == "no-cache"
        async with http.get(base(app) + "/staff/static/nothing.css") as missing:
            assert missing.status == 404 and missing.headers["Cache-Control"] == "no-store"
        async with http.get(base(app) + "/staff/static/") as listing:
            assert listing.status in (403, 404)  # no directory index
        async with http.get(base(app) + "/staff/login") as page:  # pages themselves are never cached
            assert page.headers["Cache-Control"] == "no-store" and "ETag" not in page.headers


async def test_guest_name_and_words_are_escaped_on_the_ticket_and_logs_pages(app: Concierge) -> None:
    async with client() as http:
        await say(http, app, "evil", EVIL_TEXT)
        async with app.db.write() as session:
            await session.execute(update(Guest).values(name=EVIL_NAME))
        await login(http, app, MANAGER)
        for path in ("/staff/tickets/1", "/staff/logs", "/staff/logs?q=onmouseover"):
            async with http.get(base(app) + path) as response:
                assert response.status == 200, path
                page = await response.text()
            for raw in ("<script>alert", '"onmouseover=', 'onmouseover=alert(2) x="'):
                assert raw not in page, (path, raw)
            assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;onmouseover=alert(2) x=&#34;" in page, path  # the name
            assert "&lt;script&gt;alert(3)&lt;/script&gt; &#34;onmouseover=alert(4) y=&#34;" in page, path  # the words
            assert page.count("<script") == 1, path  # only staff.js


async def test_no_page_loads_a_script_or_stylesheet_from_another_origin(app: Concierge) -> None:
    async with client() as http:
        await say(http, app, "g1", "转人工")
        pages: dict[str, str] = {}
        for path in ("/", "/staff/login"):
            async with http.get(base(app) + path) as response:
                pages[path] = await response.text()
        await login(http, app, ADMIN)
        for path in ("/staff/tickets", "/staff/tickets/1", "/staff/logs", "/staff/guests/1", "/staff/reports",
                     "/staff/users"):
            async with http.get(base(app) + path) as response:
                assert response.status == 200, path
                pages[path] = await response.text()
    async with client() as http:
        await login(http, app, AGENT)
        async with http.get(base(app) + "/staff/users") as response:
            assert response.status == 403
            pages["forbidden"] = await response.text()
    for path, page in pages.items():
        assets = _assets(page)
        assert assets.scripts and assets.styles, path
        for url in assets.scripts + assets.styles:
            assert url.startswith("/") and not url.startswith("//"), (path, url)
    async with client() as http:  # nor does a stylesheet pull anything in from elsewhere
        for url in ("/staff/static/staff.css", "/static/chat.css"):
            async with http.get(base(app) + url) as response:
                css = await response.text()
            assert "@import" not in css and "http:" not in css and "https:" not in css, url


@pytest.mark.parametrize("path", [
    "/staff/tickets/123456789012345678901234567890",
    "/staff/guests/123456789012345678901234567890",
])
async def test_an_id_too_large_for_the_database_is_not_found_not_a_crash(app: Concierge, path: str) -> None:
    async with client() as http:
        await login(http, app, ADMIN)
        async with http.get(base(app) + path, allow_redirects=False) as response:
            assert response.status == 404


async def test_a_path_out_of_a_static_directory_is_refused(app: Concierge) -> None:
    async with client() as http:
        for path in ("/static/..%2F..%2F..%2Fconfig.yaml", "/staff/static/..%2F..%2Fconfig.py", "/static/%2e%2e/app.py"):
            async with http.get(base(app) + path, allow_redirects=False) as response:
                body = await response.read()
                assert response.status in (403, 404), (path, response.status)
                assert b"hotel" not in body and b"import" not in body, path
