"""Headers for files served by aiohttp's static routes (the chat page's and the dashboard's).

aiohttp's ``FileResponse`` gives ETag, Last-Modified and 304 but neither our security headers nor a
charset, and its responses bypass the handlers that would add them; an ``on_response_prepare`` hook of
each surface calls :func:`apply` for its own paths.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from aiohttp import web

TEXT_TYPES: Final = frozenset({"text/html", "text/css", "text/javascript", "application/javascript"})
_SERVED: Final = frozenset({200, 206, 304})


def apply(response: web.StreamResponse, headers: Mapping[str, str], cache_control: str) -> None:
    """``headers`` on the response; ``cache_control`` when a file was served, ``no-store`` on an error
    (a 404 must not be cached as if it were the file); utf-8 on text (chat.js holds "⚠")."""
    response.headers.update(headers)
    response.headers["Cache-Control"] = cache_control if response.status in _SERVED else "no-store"
    if response.content_type in TEXT_TYPES and response.charset is None:
        response.charset = "utf-8"
