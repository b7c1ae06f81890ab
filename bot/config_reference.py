"""The configuration reference (``docs/CONFIG.md``), generated from the settings models.

It is written from the pydantic schema rather than by hand so that a key added to ``bot/config.py`` or
``scheduler/config.py`` cannot go undocumented or be documented with a stale default:
``tests/test_config_reference.py`` fails when docs/CONFIG.md differs from what ``concierge config
reference`` prints. Types, defaults and limits come from the fields themselves, descriptions from
``Field(description=...)`` and the models' docstrings, environment variables from ``ENV_OVERRIDES``.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from bot.config import DEFAULT_CONFIG, ENV_OVERRIDES, Settings

REGENERATE = ".venv/bin/concierge config reference > docs/CONFIG.md"

_TEXT_TYPES: dict[type, str] = {
    bool: "boolean", int: "integer", float: "number", str: "text", time: "time `HH:MM`", Path: "path",
}


@dataclass(frozen=True)
class Entry:
    """One documented key. ``key`` is dotted; ``<name>`` stands for a key the hotel chooses, ``[]`` for an
    item of a list."""

    key: str
    type: str
    default: str
    description: str
    env: str | None


@dataclass(frozen=True)
class Section:
    """A top-level key holding a model (or a list / mapping of models), documented as one table."""

    key: str
    intro: str
    entries: tuple[Entry, ...]


def _optional(annotation: Any) -> tuple[Any, bool]:
    """``X | None`` → (X, True); anything else → (itself, False)."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(args) == 1 and len(args) < len(get_args(annotation)):
            return args[0], True
    return annotation, False


def _model_of(annotation: Any) -> tuple[type[BaseModel] | None, str]:
    """The model a field holds and how: ``""`` (directly), ``"[]"`` (list items), ``".<name>"`` (mapping)."""
    annotation, _ = _optional(annotation)
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        return annotation, ""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is list and args and inspect.isclass(args[0]) and issubclass(args[0], BaseModel):
        return args[0], "[]"
    if origin is dict and len(args) == 2 and inspect.isclass(args[1]) and issubclass(args[1], BaseModel):
        return args[1], ".<name>"
    return None, ""


def type_name(annotation: Any) -> str:
    """How a hotel operator should read a field's type (YAML terms, not Python ones)."""
    annotation, optional = _optional(annotation)
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Literal:
        name = "one of " + ", ".join(f"`{value}`" for value in args)
    elif origin is list:
        name = f"list of {type_name(args[0])}" if args else "list"
    elif origin is dict:
        name = f"mapping of name → {type_name(args[1])}" if args else "mapping"
    elif inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        name = "section"
    else:
        name = _TEXT_TYPES.get(annotation, getattr(annotation, "__name__", str(annotation)))
    return f"{name} or `null`" if optional else name


def _limits(field: FieldInfo) -> list[str]:
    """The field's validation limits as short phrases (the validator rejects values outside them)."""
    limits: list[str] = []
    for item in field.metadata:
        if isinstance(item, annotated_types.Ge):
            limits.append(f"≥ {item.ge}")
        elif isinstance(item, annotated_types.Gt):
            limits.append(f"> {item.gt}")
        elif isinstance(item, annotated_types.Le):
            limits.append(f"≤ {item.le}")
        elif isinstance(item, annotated_types.Lt):
            limits.append(f"< {item.lt}")
        elif isinstance(item, annotated_types.MinLen):
            limits.append(f"at least {item.min_length}")
        elif isinstance(item, annotated_types.MaxLen):
            limits.append(f"at most {item.max_length}")
        elif getattr(item, "pattern", None):
            limits.append(f"matches `{item.pattern}`")
    return limits


def _yaml_value(value: Any) -> str:
    """A default as one would write it in config.yaml."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, time):
        return f'"{value:%H:%M}"'
    if isinstance(value, str):
        return '""' if value == "" else value
    if isinstance(value, Path):
        return value.as_posix()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_yaml_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{key}: {_yaml_value(item)}" for key, item in value.items()) + "}"
    return str(value)


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "**required**"
    value = field.get_default(call_default_factory=True)
    if value is PydanticUndefined:
        return "**required**"
    if isinstance(value, BaseModel):
        return "(keys below)"
    return f"`{_yaml_value(value)}`"


def _doc(model: type[BaseModel]) -> str:
    return inspect.cleandoc(model.__doc__) if model.__doc__ else ""


def _sentence(text: str) -> str:
    """A field description (a phrase) as a section's opening sentence."""
    return f"{text[:1].upper()}{text[1:]}." if text else ""


def _join(*parts: str) -> str:
    return " — ".join(part for part in parts if part)


def _walk(model: type[BaseModel], prefix: str, context: str) -> Iterator[Entry]:
    """Every key under ``model``, depth first, in declaration order."""
    for name, field in model.model_fields.items():
        yield from _field_entries(f"{prefix}{name}", field, context)


def _field_entries(key: str, field: FieldInfo, context: str) -> Iterator[Entry]:
    """One key and everything under it. ``context`` is the parent's description, carried into a nested
    model's keys (``hotel.names.zh``: the hotel's name — Simplified Chinese)."""
    if field.exclude:  # set by the loader (``source``), not by the hotel
        return
    description = field.description or ""
    inner, how = _model_of(field.annotation)
    kind = type_name(field.annotation)
    if inner is not None and how:  # a list or mapping of sections: say so rather than "list of section"
        kind = "list of sections" if how == "[]" else "mapping of name → section"
    limits = ", ".join(_limits(field))
    env = {dotted: variable for variable, dotted in ENV_OVERRIDES.items()}.get(key)
    yield Entry(key, f"{kind}, {limits}" if limits else kind, _default(field), _join(context, description), env)
    if inner is not None:
        # a section's own keys stand on their own; a nested model's (names.zh) need the parent's words
        yield from _walk(inner, f"{key}{how}.", _join(context, description) if not how and context else "")


def sections() -> tuple[list[Entry], list[Section]]:
    """The top-level scalar keys, and one section per top-level key that holds a model."""
    top: list[Entry] = []
    found: list[Section] = []
    for name, field in Settings.model_fields.items():
        if field.exclude:
            continue
        inner, how = _model_of(field.annotation)
        rows = list(_field_entries(name, field, ""))
        if inner is None:
            top.extend(rows)
            continue
        own = field.description or ""
        if how.startswith("."):  # a mapping: what its names are, then what each value holds
            intro = f"{_sentence(own)} {_doc(inner)}".strip()
        else:
            intro = _doc(inner) or _sentence(own)
        found.append(Section(name, intro, tuple(rows)))
    return top, found


def entries() -> list[Entry]:
    """Every documented key, in the order the reference lists them."""
    top, found = sections()
    return [*top, *(entry for section in found for entry in section.entries)]


def missing_descriptions() -> list[str]:
    """Keys with no description at all: a new field needs ``Field(description=...)``."""
    return [entry.key for entry in entries() if not entry.description]


def _cell(text: str) -> str:
    """Markdown table cell: docstrings' reST ``code`` becomes `code`; a pipe would end the cell."""
    return text.replace("``", "`").replace("|", "\\|").replace("\n", " ")


def _table(rows: list[Entry]) -> list[str]:
    lines = ["| key | type | default | environment | description |", "|---|---|---|---|---|"]
    for entry in rows:
        env = f"`{entry.env}`" if entry.env else ""
        lines.append(
            f"| `{entry.key}` | {_cell(entry.type)} | {_cell(entry.default)} | {env} | {_cell(entry.description)} |"
        )
    return lines


def render_markdown() -> str:
    """docs/CONFIG.md: the loader's rules, the environment variables, then every key by section."""
    top, found = sections()
    lines = [
        "# Configuration reference",
        "",
        "<!-- Generated by `concierge config reference` from bot/config.py and scheduler/config.py."
        f" Do not edit by hand: run `{REGENERATE}`. -->",
        "",
        f"Concierge reads one YAML file: `--config FILE`, else `$CONCIERGE_CONFIG`, else `./{DEFAULT_CONFIG}`"
        " (`config.yaml` in the repository is a complete example). Every key is validated at start-up;"
        " unknown keys are rejected, and a mistake stops the process with exit code 2 and a message naming the"
        " key and the file (`concierge config check` validates without starting anything). Times of day are"
        ' written `"HH:MM"` (quoted). A relative `data_dir` in the file is relative to the file, not to the'
        " current directory.",
        "",
        "## Environment variables",
        "",
        "A variable that is set and not empty overrides its key in the file (secrets and addresses belong"
        " here rather than in the file). `CONCIERGE_DATA_DIR` is taken as given (relative to the current"
        " directory).",
        "",
        "| variable | key |",
        "|---|---|",
        "| `CONCIERGE_CONFIG` | which file is read (not a key) |",
        *(f"| `{variable}` | `{dotted}` |" for variable, dotted in ENV_OVERRIDES.items()),
        "",
        "## Top-level keys",
        "",
        *_table(top),
    ]
    for section in found:
        lines += ["", f"## `{section.key}`", ""]
        if section.intro:
            lines += [section.intro.replace("``", "`"), ""]
        lines += _table(list(section.entries))
    return "\n".join(lines) + "\n"
