"""A web guest's conversation, for the chat page to show again after a reload or a closed tab.

The page keeps no transcript of its own: what staff wrote while the tab was closed, and the answers to
messages a crash interrupted, are in the store. A session id is the guest's only credential, so the page
makes 128-bit random ones and history is refused for short ids (see ``MIN_SESSION``).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from crm.db import Database
from crm.guests import find_identity
from crm.models import InboxUpdate, Message, StaffUser
from handlers.types import parse_number

CHANNEL = "web"
MAX_LINES = 200  # the page shows the recent conversation, not a guest's whole year
MIN_SESSION = 16  # shorter ids could be guessed; the page's own are 32 hex digits


def _client_id(update_id: str | None, session: str) -> str | None:
    """The page's own id of a message (the inbox stores ``<session>:<id>``)."""
    prefix = f"{session}:"
    return update_id[len(prefix):] if update_id and update_id.startswith(prefix) else None


async def conversation(db: Database, session: str) -> list[dict[str, Any]]:
    """The session's last ``MAX_LINES`` lines, oldest first, as the page renders them."""
    async with db.read() as tx:
        identity = await find_identity(tx, CHANNEL, session)
        if identity is None:
            return []
        rows = (await tx.execute(
            select(Message, InboxUpdate.update_id)
            .join(InboxUpdate, InboxUpdate.id == Message.inbox_id, isouter=True)  # type: ignore[arg-type]
            .where(Message.guest_id == identity.guest_id, Message.channel == CHANNEL)
            .order_by(Message.id.desc())  # type: ignore[union-attr]
            .limit(MAX_LINES)
        )).all()
        staff_ids = {parse_number(m.author.removeprefix("staff:")) for m, _ in rows if m.author.startswith("staff:")}
        names = dict((await tx.execute(
            select(StaffUser.id, StaffUser.name).where(StaffUser.id.in_(staff_ids - {None}))  # type: ignore[union-attr]
        )).all()) if staff_ids else {}
    labels: dict[str, str] = {}  # button value -> label, from the buttons the guest was shown
    lines = []
    for message, update_id in reversed(rows):
        buttons = message.analysis.get("buttons", []) if message.direction == "out" else []
        labels.update({b["value"]: b["label"] for b in buttons if isinstance(b, dict) and "value" in b})
        line: dict[str, Any] = {
            "id": (_client_id(update_id, session) if message.direction == "in" else None) or f"m{message.id}",
            "from": "guest" if message.direction == "in" else "bot",
            "text": message.text,
            "buttons": buttons,
            "at": message.created_at.isoformat(),
        }
        if message.direction == "in" and message.text.startswith("[") and message.text.endswith("]"):
            line["text"] = labels.get(message.text[1:-1], message.text)  # a pressed button, as the guest saw it
        if message.author.startswith("staff:"):
            line["from"] = "staff"
            line["staff_name"] = names.get(parse_number(message.author.removeprefix("staff:")), "")
        lines.append(line)
    return lines


async def pushed_line(db: Database, guest_id: int | None, ticket_id: int | None, text: str) -> tuple[str, str, str]:
    """The history id, the author ("staff" or "bot") and the staff member's name of a message being pushed
    to a web guest, from the line logged with it: the page shows a staff reply under its author's name and
    a bot message sent later (a hand-back, a late notice) as the bot's, and skips what history showed."""
    if guest_id is None:
        return "", "bot", ""
    async with db.read() as tx:
        found = (await tx.execute(
            select(Message.id, Message.author)
            .where(Message.guest_id == guest_id, Message.ticket_id == ticket_id, Message.text == text,
                   Message.direction == "out")
            .order_by(Message.id.desc())  # type: ignore[union-attr]
            .limit(1)
        )).first()
        if found is None:
            return "", "bot", ""
        if not found[1].startswith("staff:"):
            return f"m{found[0]}", "bot", ""
        user = await tx.get(StaffUser, parse_number(found[1].removeprefix("staff:")) or 0)
    return f"m{found[0]}", "staff", user.name if user is not None else ""
