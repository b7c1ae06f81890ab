"""Entering and leaving a multi-turn flow; the state row is in the store, so a restart resumes it."""

from __future__ import annotations

from typing import Any

from handlers.context import Turn


def set_flow(turn: Turn, flow: str, step: str, slots: dict[str, Any]) -> None:
    turn.state.flow, turn.state.step = flow, step
    turn.state.slots = dict(slots)  # a new object, so the JSON column is seen as changed


def clear_flow(turn: Turn) -> None:
    turn.state.flow, turn.state.step, turn.state.slots = None, None, {}
