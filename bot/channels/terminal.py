"""``concierge chat``: the same pipeline in a terminal, for trying the bot without a browser or Telegram."""

from __future__ import annotations

import asyncio
import sys
import uuid

from bot.channels.web.chat import CHANNEL as WEB
from bot.channels.web.chat import validate
from bot.pipeline import Pipeline
from handlers.types import Reply, parse_number

PROMPT = "> "


def _print_replies(replies: list[Reply]) -> list[str]:
    """Print replies; returns the button values so the guest can type a button's number instead."""
    values: list[str] = []
    for reply in replies:
        print(reply.text)
        for button in reply.buttons:
            values.append(button.value)
            print(f"  [{len(values)}] {button.label}")
    return values


async def chat(pipeline: Pipeline, session: str | None = None) -> int:
    """Converse until end of input or /quit; the caller owns the started app around the pipeline."""
    session = session or f"term-{uuid.uuid4().hex[:12]}"
    first = validate({"session": session, "text": "/start"})
    result = await pipeline.submit(WEB, f"{session}:{first['id']}", session, first)
    buttons = _print_replies(result.replies)
    while True:
        line = await asyncio.to_thread(_read_line)
        if line is None:
            return 0
        text = line.strip()
        if text in {"/quit", "/exit"}:
            return 0
        body: dict[str, str] = {"session": session}
        choice = parse_number(text)
        if choice is not None and 1 <= choice <= len(buttons):
            body["button"] = buttons[choice - 1]
        else:
            body["text"] = line
        payload = validate(body)
        result = await pipeline.submit(WEB, f"{session}:{payload['id']}", session, payload)
        buttons = _print_replies(result.replies) or buttons


def _read_line() -> str | None:
    try:
        return input(PROMPT)
    except EOFError:
        return None
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return None
