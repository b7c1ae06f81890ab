"""Full-text search over the conversation log that works for Chinese as well as English.

SQL ``LIKE`` cannot rank or segment Chinese, and SQLite FTS5 / PostgreSQL tsvector would each need their
own schema. Instead every message's search tokens (jieba words, English stems — whatever tokenizer the
caller passes; the store does not know about NLP) go into ``MessageTerm``, one row per distinct token,
and a query matches messages that carry all of its tokens. Indexing runs behind the log, in batches,
off the event loop; a search first catches up, so nothing said a second ago is missed.

The watermark is the highest indexed message id, but ids are handed out when a line is inserted, not when
its transaction commits: on PostgreSQL a slow turn's line can become visible after a later line was
indexed. So each run also re-reads the ``RESCAN_IDS`` ids below the watermark for lines without terms
(a primary-key range and an index probe each, cheap), which catches any line committed that late.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from sqlalchemy import delete, func, insert
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import select

from crm.db import Database
from crm.models import Message, MessageTerm

Tokenizer = Callable[[str], Sequence[str]]
NO_TERMS = ""  # sentinel row for a message without tokens (emoji only…), so it is not re-read forever
MAX_TERM = 64
MAX_INDEXED_CHARS = 4000
RESCAN_IDS = 5000  # far more lines than can be logged while one turn's transaction is open


def terms_of(tokenize: Tokenizer, text: str) -> list[str]:
    """Distinct, lower-cased, bounded tokens of one text."""
    seen: dict[str, None] = {}
    for token in tokenize(text[:MAX_INDEXED_CHARS]):
        term = token.strip().lower()[:MAX_TERM]
        if term:
            seen.setdefault(term, None)
    return list(seen)


async def _watermark(db: Database) -> int:
    async with db.read() as session:
        return int((await session.execute(select(func.max(MessageTerm.message_id)))).scalar() or 0)


async def index_pending(db: Database, tokenize: Tokenizer, *, batch: int = 500, max_batches: int = 40) -> int:
    """Index messages logged since the last run; returns how many. Safe to run from several workers:
    a batch replaces whatever terms its messages already have."""
    done = 0
    for _ in range(max_batches):
        after = await _watermark(db) - RESCAN_IDS
        unindexed = ~select(MessageTerm.id).where(MessageTerm.message_id == Message.id).exists()
        async with db.read() as session:
            rows = (await session.execute(
                select(Message.id, Message.text)
                .where(Message.id > after, unindexed)  # type: ignore[operator]
                .order_by(Message.id)  # type: ignore[arg-type]
                .limit(batch)
            )).all()
        if not rows:
            break
        pairs = [(int(row[0]), str(row[1] or "")) for row in rows]
        indexed = await asyncio.to_thread(lambda: [(mid, terms_of(tokenize, text) or [NO_TERMS]) for mid, text in pairs])
        async with db.write() as session:
            ids = [mid for mid, _ in indexed]
            await session.execute(delete(MessageTerm).where(MessageTerm.message_id.in_(ids)))  # type: ignore[attr-defined]
            values = [{"message_id": mid, "term": term} for mid, terms in indexed for term in terms]
            await session.execute(insert(MessageTerm), values)
        done += len(pairs)
        if len(pairs) < batch:
            break
    return done


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def match_clause(tokenize: Tokenizer, query: str) -> ColumnElement[bool] | None:
    """A WHERE clause for messages matching ``query``: every query token indexed on the message, or the
    query appearing verbatim (catches words the segmenter cut differently). None for an empty query."""
    query = query.strip()[:200]
    if not query:
        return None
    verbatim = Message.text.like(f"%{_escape_like(query)}%", escape="\\")  # type: ignore[attr-defined]
    terms = terms_of(tokenize, query)
    if not terms:
        return verbatim
    all_terms: ColumnElement[bool] | None = None
    for term in terms:
        has = Message.id.in_(select(MessageTerm.message_id).where(MessageTerm.term == term))  # type: ignore[union-attr]
        all_terms = has if all_terms is None else (all_terms & has)
    assert all_terms is not None
    return all_terms | verbatim
