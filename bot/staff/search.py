"""Keeps the conversation search index (crm.search) caught up, with the analyser's tokenizer.

A background task indexes new messages every few seconds while the web server runs, and every search
catches up first, so a line logged a moment ago is found too. One lock per process keeps the two from
indexing the same batch at once (across processes a batch is simply rewritten, which is harmless).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence

from aiohttp import web
from sqlalchemy.sql.elements import ColumnElement

from bot.staff.deps import StaffDeps
from crm.search import index_pending, match_clause

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 5.0


class SearchIndex:
    def __init__(self, deps: StaffDeps) -> None:
        self.deps = deps
        self._lock = asyncio.Lock()

    def tokenize(self, text: str) -> Sequence[str]:
        return self.deps.analyzer.search_tokens(text)

    async def catch_up(self) -> int:
        async with self._lock:
            return await index_pending(self.deps.db, self.tokenize)

    async def clause(self, query: str) -> ColumnElement[bool] | None:
        """The WHERE clause for a search, after indexing whatever was logged since the last run."""
        if not query.strip():
            return None
        await self.catch_up()
        return match_clause(self.tokenize, query)

    async def run(self) -> None:
        while True:
            try:
                await self.catch_up()
            except asyncio.CancelledError:
                raise
            except Exception:  # a locked database or a bad row must not end indexing for good
                log.exception("search indexing round failed")
            await asyncio.sleep(INTERVAL_SECONDS)


INDEX_KEY = web.AppKey("staff_search_index", SearchIndex)


def start_indexer(app: web.Application, deps: StaffDeps) -> None:
    app[INDEX_KEY] = SearchIndex(deps)

    async def background(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(app[INDEX_KEY].run(), name="search-indexer")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    app.cleanup_ctx.append(background)
