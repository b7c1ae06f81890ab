"""Staff alert storms: beyond a rate per staff chat, ticket alerts and escalations fold into one digest.

A thousand hand-offs in a minute would otherwise post a thousand cards into a group Telegram paces at
20 a minute — an hour and a half of backlog nobody can read. Each staff chat gets
``limits.staff_alerts_per_window`` alerts per window of ``limits.staff_digest_minutes``; the rest are
marked ``folded`` (crm.outbox.fold) and counted in one digest row per chat and window, posted when the
window ends: "37 new alerts in the last 5 min: 31 hand-offs, 4 complaints … → dashboard". Nothing is
lost: every ticket is on the dashboard, and the folded rows stay in the outbox, named by the digest.

Each worker counts what it posted and, while under budget, what every worker has posted (from the
outbox), so two workers share one budget; two alerts taken at the same instant may still pass it by one.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import LimitsSettings
from crm.db import Database
from crm.models import Outbox, Ticket
from crm.outbox import alerts_sent_since, folded_into
from handlers.i18n import Catalog

DIGEST_KIND = "digest"


class AlertBudget:
    def __init__(self, limits: LimitsSettings, *, clock: Callable[[], float] = time.time) -> None:
        self.per_window = limits.staff_alerts_per_window
        self.window = 60 * limits.staff_digest_minutes
        self.minutes = limits.staff_digest_minutes
        self.clock = clock
        self._spent: dict[str, tuple[int, int]] = {}  # chat -> (window start, alerts posted in it)

    @staticmethod
    def folds(row: Outbox) -> bool:
        """Ticket alerts and SLA escalations fold; answers to staff commands and notices never do."""
        return row.kind == "staff" and row.ticket_id is not None

    async def take(self, db: Database, chat: str) -> Outbox | None:
        """None: post the alert (it is counted). Otherwise the digest row it folds into (queue it)."""
        start = int(self.clock()) // self.window * self.window
        window, spent = self._spent.get(chat, (start, 0))
        if window != start:
            spent = 0
        if spent < self.per_window:  # what this worker posted, or what all did (in flight here: not yet)
            spent = max(spent, await alerts_sent_since(db, chat, datetime.fromtimestamp(start, UTC)))
        if spent < self.per_window:
            self._spent[chat] = (start, spent + 1)
            return None
        due = datetime.fromtimestamp(start + self.window, UTC)
        return Outbox(channel="staff", chat_id=chat, kind=DIGEST_KIND, text="", next_attempt_at=due,
                      dedupe_key=f"digest:{chat}:{start}")


async def digest_text(session: AsyncSession, catalog: Catalog, locale: str, row: Outbox, minutes: int) -> str:
    """The digest's wording, from what was folded into it: counts by ticket category, escalations apart."""
    folded = await folded_into(session, row.dedupe_key or "")
    escalations = sum(1 for item in folded if (item.dedupe_key or "").startswith("sla:"))
    categories: Counter[str] = Counter()
    for item in folded:
        if not (item.dedupe_key or "").startswith("sla:"):
            ticket = await session.get(Ticket, item.ticket_id) if item.ticket_id else None
            categories[ticket.category if ticket else "other"] += 1
    parts = [catalog.text(locale, "staff.digest.part", what=catalog.text(locale, f"category.{code}"), count=count)
             for code, count in categories.most_common()]
    if escalations:
        parts.append(catalog.text(locale, "staff.digest.escalations", count=escalations))
    separator = catalog.text(locale, "staff.digest.separator")
    return catalog.text(locale, "staff.digest.title", count=len(folded), minutes=minutes, parts=separator.join(parts))
