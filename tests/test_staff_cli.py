"""``concierge staff add|list|password`` against a fresh data directory."""

from __future__ import annotations

import asyncio
import gc
import io
import os
import subprocess
import sys
import warnings
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from argon2 import PasswordHasher

from bot.cli import main
from crm import staff
from crm.db import Database
from crm.migrate import upgrade
from crm.staff import authenticate, find_by_name
from tests.conftest import CONFIG

# argon2-cffi's RFC 9106 "low memory" profile: argon2id, 64 MiB, 3 passes, 4 lanes
PRODUCTION_PREFIX = "$argon2id$v=19$m=65536,t=3,p=4$"


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
    assert "zhang.wei\tagent\thousekeeping\t- telegram" in capsys.readouterr().out
    assert _run(monkeypatch, data, "staff", "password", "zhang.wei", "--password-stdin", stdin="a new password\n") == 0
    with pytest.raises(SystemExit):
        _run(monkeypatch, data, "staff", "add", "y", "--role", "owner", "--password-stdin", stdin="long enough pw\n")


def test_staff_add_sets_the_members_language(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """The boss reads English in a Simplified Chinese hotel: his Telegram cards and answers follow
    ``StaffUser.language``, which only the dashboard's database could set before."""
    data = tmp_path / "data"
    assert _run(monkeypatch, data, "staff", "add", "boss", "--role", "manager", "--telegram-id", "7",
                "--language", "en", "--password-stdin", stdin="a long password\n") == 0
    assert "added boss (manager, en)" in capsys.readouterr().out
    assert _run(monkeypatch, data, "staff", "add", "li.na", "--role", "agent", "--department", "housekeeping",
                "--password-stdin", stdin="a long password\n") == 0
    assert _run(monkeypatch, data, "staff", "list") == 0
    listed = capsys.readouterr().out
    assert "boss\tmanager\t-\ten telegram" in listed and "li.na\tagent\thousekeeping\t-" in listed
    with pytest.raises(SystemExit):  # only a language the catalogs have
        _run(monkeypatch, data, "staff", "add", "x", "--role", "agent", "--language", "fr", "--password-stdin",
             stdin="long enough pw\n")
    assert "invalid choice: 'fr'" in capsys.readouterr().err

    async def languages() -> dict[str, str | None]:
        database = Database(f"sqlite+aiosqlite:///{data}/concierge.db")
        try:
            async with database.read() as session:
                return {name: (await find_by_name(session, name)).language for name in ("boss", "li.na")}  # type: ignore[union-attr]
        finally:
            await database.dispose()

    assert asyncio.run(languages()) == {"boss": "en", "li.na": None}


def test_db_upgrade_and_purge_on_a_fresh_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    assert _run(monkeypatch, data, "db", "upgrade") == 0
    assert "database schema is up to date" in capsys.readouterr().out
    assert _run(monkeypatch, data, "db", "upgrade") == 0  # again: nothing to do, still fine
    assert _run(monkeypatch, data, "db", "purge", "--days", "30") == 0
    assert "purged 0 messages and 0 inbox updates older than 30 days" in capsys.readouterr().out


def test_a_failing_command_leaves_no_open_connection(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """A command that fails half-way (an unknown department, found inside the transaction) still closes
    the store: nothing is left for the garbage collector to close (a warning at exit, a file kept open)."""
    data = tmp_path / "data"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert _run(monkeypatch, data, "staff", "add", "x", "--role", "agent", "--department", "spa",
                    "--password-stdin", stdin="long enough pw\n") == 1
        gc.collect()
    assert "unknown department" in capsys.readouterr().err
    left = [str(w.message) for w in caught if "before being closed" in str(w.message) or "non-checked-in" in str(w.message)]
    assert left == []


async def test_production_hashes_passwords_with_argon2id_at_its_default_cost(
    cheap_password_hashing: PasswordHasher, tmp_path: Path
) -> None:
    """The suite hashes cheaply (conftest, which hands over the hasher crm.staff set up on import): that one
    is argon2-cffi's default, and a password set through it is stored as argon2id at full cost and verifies."""
    production = cheap_password_hashing
    assert production.hash("x").startswith(PRODUCTION_PREFIX)
    assert PasswordHasher().hash("x").startswith(PRODUCTION_PREFIX)  # the library's defaults did not move
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'hashes.db'}")
    test_hasher = staff.use_hasher(production)
    try:
        await upgrade(database)
        async with database.write() as session:
            await staff.add_staff(session, "full.cost", "agent", "a long password")
        async with database.write() as session:
            user = await find_by_name(session, "full.cost")
            assert user is not None and user.password_hash.startswith(PRODUCTION_PREFIX)
            assert await authenticate(session, "full.cost", "a long password") is not None
            assert await authenticate(session, "full.cost", "not the password") is None
            assert user.password_hash.startswith(PRODUCTION_PREFIX)  # not re-hashed: it is current
    finally:
        staff.use_hasher(test_hasher)
        await database.dispose()


def test_staff_add_without_a_terminal_says_to_use_password_stdin(tmp_path: Path) -> None:
    """Run as a provisioning script would (stdin not a terminal): it used to die with an EOFError traceback."""
    env = {**os.environ, "CONCIERGE_DATA_DIR": str(tmp_path / "data")}
    env.pop("CONCIERGE_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--config", str(CONFIG), "staff", "add", "bob", "--role", "agent"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, timeout=60,
    )
    assert done.returncode == 2 and "--password-stdin" in done.stderr
    assert "Traceback" not in done.stderr and "EOFError" not in done.stderr


@pytest.mark.parametrize("word", ["today", "tomorrow"])
def test_campaigns_preview_on_today_or_tomorrow(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str], word: str) -> None:
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    day = today + timedelta(days=1 if word == "tomorrow" else 0)
    assert _run(monkeypatch, tmp_path / "data", "campaigns", "preview", "--on", word) == 0
    assert f"Campaigns on {day.isoformat()}" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        _run(monkeypatch, tmp_path / "data", "campaigns", "preview", "--on", "someday")
