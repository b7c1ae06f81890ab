"""docs/CONFIG.md is what `concierge config reference` prints, and that output documents every key.

A hand-kept reference drifts the first time someone adds a key; this one is generated from the
settings models (bot/config_reference.py), and these tests keep the committed file, the models and the
demo config.yaml in step.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import main
from bot.config import ENV_OVERRIDES
from bot.config_reference import REGENERATE, entries, missing_descriptions, render_markdown

ROOT = Path(__file__).resolve().parent.parent
CONFIG_MD = ROOT / "docs" / "CONFIG.md"


def test_config_md_is_the_commands_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "reference"]) == 0
    printed = capsys.readouterr().out
    assert printed == render_markdown()
    assert CONFIG_MD.read_text(encoding="utf-8") == printed, (
        f"docs/CONFIG.md is out of date with the settings models; regenerate it: {REGENERATE}"
    )


def test_reference_needs_no_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """It documents the schema, so a missing or broken file must not stop it."""
    assert main(["--config", str(tmp_path / "missing.yaml"), "config", "reference"]) == 0
    assert capsys.readouterr().out.startswith("# Configuration reference")


def test_every_key_is_described() -> None:
    assert not missing_descriptions(), (
        "keys without a description: add Field(description=...) to them: " + ", ".join(missing_descriptions())
    )


def test_every_environment_variable_is_listed_with_its_key() -> None:
    by_key = {entry.key: entry for entry in entries()}
    for variable, dotted in ENV_OVERRIDES.items():
        assert by_key[dotted].env == variable
    assert "`CONCIERGE_CONFIG`" in render_markdown()


def _paths(node: Any, prefix: str = "") -> list[str]:
    """Dotted paths of a YAML tree's leaves, list items written ``[]``."""
    if isinstance(node, dict):
        return [path for key, value in node.items() for path in _paths(value, f"{prefix}{key}.")] or [prefix[:-1]]
    if isinstance(node, list) and node and all(isinstance(item, dict) for item in node):
        return sorted({path for item in node for path in _paths(item, f"{prefix[:-1]}[].")})
    return [prefix[:-1]]


def test_every_key_of_the_demo_file_is_documented() -> None:
    """The reference and the file a hotel copies agree on the names of things."""
    patterns = [re.compile("^" + re.escape(entry.key).replace(re.escape("<name>"), "[^.]+") + "$") for entry in entries()]
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    undocumented = [path for path in _paths(data) if not any(pattern.match(path) for pattern in patterns)]
    assert not undocumented, f"keys in config.yaml missing from the reference: {undocumented}"


def test_the_reference_shows_types_defaults_and_limits() -> None:
    text = render_markdown()
    assert "| `http.port` | integer, ≥ 0, ≤ 65535 | `8080` | `CONCIERGE_HTTP_PORT` |" in text
    assert "| `hotel.check_in_time` | time `HH:MM` | `\"14:00\"` |" in text
    assert "| `room_types[].code` | text, matches `^[a-z][a-z0-9_]{0,31}$` | **required** |" in text
    assert "| `ticket_categories.<name>.priority` | one of `low`, `normal`, `high`, `urgent` | `normal` |" in text
    assert "`source`" not in text  # set by the loader, not a key
