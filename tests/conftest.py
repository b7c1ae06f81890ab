"""Shared fixtures: settings on a temporary data dir, a shared analyser, the fake Bot API server, cheap
password hashing."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from argon2 import PasswordHasher
from sqlalchemy.engine import make_url

from bot.app import Concierge
from bot.bench.fake_bot_api import FakeBotApi
from bot.config import Settings, load_settings
from bot.nlp_setup import build_analyzer
from crm import staff
from nlp import Analyzer

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config.yaml"
STAFF_CHAT = -100777


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[PasswordHasher]:
    """argon2id at the lowest cost for the whole run: the full RFC 9106 cost (~0.1-0.3 s a hash) in every
    fixture that adds a staff team made it the suite's largest single cost. Yields the hasher production
    uses (test_staff_cli checks its parameters); a subprocess of the suite hashes at full cost."""
    production = staff.use_hasher(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    yield production
    staff.use_hasher(production)


@pytest.fixture(scope="session")
def analyzer(tmp_path_factory: pytest.TempPathFactory) -> Analyzer:
    """One analyser for the whole run: jieba's dictionary loads once."""
    settings = load_settings(CONFIG, env={"CONCIERGE_DATA_DIR": str(tmp_path_factory.mktemp("nlp-cache"))})
    return build_analyzer(settings)


SettingsFactory = Callable[..., Settings]
POSTGRES = os.environ.get("CONCIERGE_TEST_POSTGRES", "")  # e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test


@pytest.fixture
async def database_url() -> AsyncIterator[str | None]:
    """None (a SQLite file in the test's data dir), or a fresh PostgreSQL database for this test."""
    if not POSTGRES:
        yield None
        return
    server = make_url(POSTGRES)
    name = f"concierge_t_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(
        host=server.host, port=server.port or 5432, user=server.username, database=server.database
    )
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield server.set(database=name).render_as_string(hide_password=False)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
def make_settings(tmp_path: Path, database_url: str | None) -> SettingsFactory:
    def make(**env: str) -> Settings:
        base = {"CONCIERGE_DATA_DIR": str(tmp_path / "data"), "CONCIERGE_HTTP_PORT": "0"}
        if database_url:
            base["CONCIERGE_DATABASE_URL"] = database_url
        return load_settings(CONFIG, env={**base, **env})

    return make


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client for talking to the bot's web side."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        yield server


@asynccontextmanager
async def running(settings: Settings, analyzer: Analyzer) -> AsyncIterator[Concierge]:
    """A started bot with these settings, stopped afterwards (for fixtures with settings of their own)."""
    app = Concierge(settings, analyzer=analyzer)
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


@pytest.fixture
async def web_bot(make_settings: SettingsFactory, analyzer: Analyzer) -> AsyncIterator[Concierge]:
    async with running(make_settings(), analyzer) as app:
        yield app


@pytest.fixture
def telegram_env(fake_api: FakeBotApi) -> dict[str, str]:
    return {
        "TELEGRAM_BOT_TOKEN": fake_api.token,
        "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{fake_api.port}",
        "CONCIERGE_TELEGRAM_STAFF_CHAT_ID": str(STAFF_CHAT),
    }


@pytest.fixture
async def telegram_bot(
    make_settings: SettingsFactory, analyzer: Analyzer, telegram_env: dict[str, str]
) -> AsyncIterator[Concierge]:
    settings = make_settings(**telegram_env)
    settings = settings.model_copy(update={"telegram": settings.telegram.model_copy(update={"poll_timeout": 1})})
    app = Concierge(settings, analyzer=analyzer)
    await app.start()
    try:
        yield app
    finally:
        await app.stop()
