"""``concierge staff add|list|password`` against a fresh data directory."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.cli import main
from tests.conftest import CONFIG


def _run(monkeypatch: pytest.MonkeyPatch, data: Path, *argv: str, stdin: str = "") -> int:
    monkeypatch.setenv("CONCIERGE_DATA_DIR", str(data))
    monkeypatch.delenv("CONCIERGE_DATABASE_URL", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(["--config", str(CONFIG), *argv])


def test_staff_add_list_and_password(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    assert _run(monkeypatch, data, "staff", "add", "zhang.wei", "--role", "agent", "--department", "housekeeping",
                "--telegram-id", "4242", "--password-stdin", stdin="a long password\n") == 0
    assert "added zhang.wei (agent, housekeeping)" in capsys.readouterr().out
    assert _run(monkeypatch, data, "staff", "add", "zhang.wei", "--role", "agent", "--password-stdin", stdin="another one 1\n") == 1
    assert "already exists" in capsys.readouterr().err
    assert _run(monkeypatch, data, "staff", "add", "x", "--role", "agent", "--department", "spa", "--password-stdin",
                stdin="long enough pw\n") == 1
    assert "unknown department" in capsys.readouterr().err
    assert _run(monkeypatch, data, "staff", "list") == 0
    assert "zhang.wei\tagent\thousekeeping telegram" in capsys.readouterr().out
    assert _run(monkeypatch, data, "staff", "password", "zhang.wei", "--password-stdin", stdin="a new password\n") == 0
    with pytest.raises(SystemExit):
        _run(monkeypatch, data, "staff", "add", "y", "--role", "owner", "--password-stdin", stdin="long enough pw\n")
