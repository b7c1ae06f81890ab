"""Rows for Core inserts on hot paths, where building ORM objects costs more than the SQL."""

from __future__ import annotations

from typing import Any

from sqlmodel import SQLModel


def row_values(model: type[SQLModel], **values: Any) -> dict[str, Any]:
    """``values`` with the model's own defaults filled in. SQLModel keeps defaults (timestamps, JSON
    lists, statuses) on the Python side, so a Core insert must supply them itself."""
    for name, field in model.model_fields.items():
        if name not in values and name != "id":
            values[name] = field.get_default(call_default_factory=True)
    return values
