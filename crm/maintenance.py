"""Store maintenance: SQLite online backup and restore, and the message-retention purge."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, select, update
from sqlalchemy.engine import make_url

from crm.db import Database
from crm.models import InboxUpdate, Message, MessageTerm, Preference


def sqlite_path(url: str) -> Path:
    """The database file of a SQLite URL; ValueError for anything else (PostgreSQL has pg_dump)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        raise ValueError("backup and restore work on a SQLite file; for PostgreSQL use pg_dump / pg_restore")
    return Path(parsed.database)


def backup(url: str, target: Path) -> int:
    """Copy the live database page by page (SQLite's online backup: writers are not stopped); returns
    the number of pages copied."""
    source_path = sqlite_path(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(source_path, timeout=30)
    destination = sqlite3.connect(target)
    try:
        source.backup(destination, pages=1024)
        pages = destination.execute("PRAGMA page_count").fetchone()[0]
        check = destination.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise RuntimeError(f"backup failed its integrity check: {check}")
        return int(pages)
    finally:
        destination.close()
        source.close()


def restore(url: str, source: Path) -> None:
    """Replace the database with a backup. Run it with the bot stopped."""
    if not source.is_file():
        raise FileNotFoundError(f"{source}: no such backup file")
    checker = sqlite3.connect(source)
    try:
        if checker.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise RuntimeError(f"{source}: not an intact SQLite database")
    finally:
        checker.close()
    target_path = sqlite_path(url)
    backup_source = sqlite3.connect(source)
    target = sqlite3.connect(target_path, timeout=30)
    try:
        backup_source.backup(target)
    finally:
        target.close()
        backup_source.close()


async def purge_messages(db: Database, older_than: datetime) -> dict[str, int]:
    """Delete conversation lines and processed inbox updates older than the retention period.
    Tickets, surveys and bookings are kept: reports count them, and they hold no chat text beyond the
    ticket summary. The lines' search-index rows reference them, so they go first (the indexer runs
    within seconds of a line being logged, so nearly every line has some)."""
    async with db.write() as session:
        expired = select(Message.id).where(Message.created_at < older_than)  # type: ignore[operator]
        terms = delete(MessageTerm).where(MessageTerm.message_id.in_(expired))  # type: ignore[attr-defined]
        await session.execute(terms)
        await session.execute(
            update(Preference).where(Preference.message_id.in_(expired)).values(message_id=None)  # type: ignore[union-attr]
        )
        messages = await session.execute(delete(Message).where(Message.created_at < older_than))  # type: ignore[arg-type]
        still_referenced = select(Message.inbox_id).where(Message.inbox_id.is_not(None))  # type: ignore[union-attr]
        inbox = await session.execute(
            delete(InboxUpdate).where(
                InboxUpdate.received_at < older_than,  # type: ignore[arg-type]
                InboxUpdate.status != "pending",
                InboxUpdate.id.not_in(still_referenced),  # type: ignore[union-attr]
            )
        )
    return {"messages": int(messages.rowcount or 0), "inbox": int(inbox.rowcount or 0)}  # type: ignore[attr-defined]
