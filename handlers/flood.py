"""Flood control per guest: past the limit one polite notice, then silence until the minute has passed.

Counted from the store, not from memory, so it holds across several workers. Every message is still
logged — nothing a guest writes is lost — it just is not acted on while they flood.
"""

from __future__ import annotations

from datetime import timedelta

from handlers.context import Turn

LIMIT_PER_MINUTE = 20
WINDOW = timedelta(minutes=1)


def flooding(turn: Turn) -> bool:
    """True when this message is over the limit; says so once per flood."""
    count = turn.recent_inbound + 1  # counted when the turn was opened (crm.conversation.open_turn)
    if count <= LIMIT_PER_MINUTE:
        return False
    if count == LIMIT_PER_MINUTE + 1:
        turn.say("flood.notice")
    return True
