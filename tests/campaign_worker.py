"""A Concierge process that runs one campaign and keeps delivering until it is killed (crash tests).

Configured by the environment like production (CONCIERGE_DATA_DIR, TELEGRAM_*); argv: campaign name and
the ISO time the campaign is run "at".
"""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime, timedelta

from bot.app import Concierge
from bot.config import load_settings
from crm.types import utcnow
from tests.conftest import CONFIG


def shift_to(at: datetime) -> timedelta:
    """The sender lives on the campaign's day, from ``at`` on: what was planned for that day is neither
    stale nor in anyone's night when it is sent (quiet hours and expiry are checked at send time)."""
    return at - utcnow()


async def main(campaign: str, at: str) -> None:
    settings = load_settings(CONFIG)
    settings = settings.model_copy(update={"telegram": settings.telegram.model_copy(update={"poll_timeout": 1})})
    app = Concierge(settings)
    app.deliverer.time_shift = shift_to(datetime.fromisoformat(at))
    await app.start(serve_http=False)
    summary = await app.scheduler.service.run_job(campaign, datetime.fromisoformat(at))
    print(summary, flush=True)
    app.deliverer.wake()
    await asyncio.Event().wait()  # until SIGKILL


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
