"""Platform access tokens kept in the store, so every worker uses the same one (see ChannelToken)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from crm.models import ChannelToken
from crm.types import utcnow


async def current(session: AsyncSession, channel: str, *, now: datetime | None = None) -> ChannelToken | None:
    """The stored token while it is still valid, else None."""
    row = await session.get(ChannelToken, channel)
    if row is None or row.expires_at <= (now or utcnow()):
        return None
    return row


async def store(session: AsyncSession, channel: str, token: str, expires_at: datetime) -> None:
    row = await session.get(ChannelToken, channel)
    if row is None:
        session.add(ChannelToken(channel=channel, token=token, expires_at=expires_at, fetched_at=utcnow()))
    else:
        row.token, row.expires_at, row.fetched_at = token, expires_at, utcnow()


async def discard(session: AsyncSession, channel: str, token: str) -> None:
    """Forget a token the platform refused — only if it is still the stored one (another worker may
    already have put a fresh one there)."""
    await session.execute(delete(ChannelToken).where(ChannelToken.channel == channel, ChannelToken.token == token))  # type: ignore[arg-type]
