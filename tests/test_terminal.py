"""``concierge chat``: the same pipeline in a terminal.

In-process through ``bot.cli.main`` with stdin replaced: the command still starts the whole app on a fresh
data dir and reads the guest's lines with ``input()``; only the analyser is the session's.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import Settings
from nlp import Analyzer
from tests.conftest import CONFIG


@pytest.fixture
def own_logging() -> Iterator[None]:
    """``concierge chat`` configures logging as a program does (root handler, levels): undone afterwards,
    so pytest's capture and later tests' levels are as they were."""
    names = ("", "httpx", "httpcore", "telegram.ext", "aiohttp.access", "jieba")
    saved = [(logging.getLogger(name), logging.getLogger(name).level) for name in names]
    handlers = logging.getLogger().handlers[:]
    yield
    logging.getLogger().handlers[:] = handlers
    for logger, level in saved:
        logger.setLevel(level)


@pytest.mark.usefixtures("own_logging")
def test_terminal_chat_answers_and_presses_buttons_by_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], analyzer: Analyzer
) -> None:
    for name in ("CONCIERGE_DATABASE_URL", "TELEGRAM_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CONCIERGE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CONCIERGE_CONFIG", str(CONFIG))

    def shared(settings: Settings) -> Analyzer:
        assert settings.data_dir == tmp_path
        return analyzer

    monkeypatch.setattr("bot.app.build_analyzer", shared)
    monkeypatch.setattr("sys.stdin", io.StringIO("早餐几点？\n2\n/quit\n"))
    assert main(["chat"]) == 0
    out, err = capsys.readouterr()
    assert "欢迎来到云栖酒店" in out and "[1]" in out
    assert "6:30" in out
    assert "请直接告诉我您需要什么服务" in out  # "2" pressed the second button of the last reply
    assert "Traceback" not in err
    assert (tmp_path / "concierge.db").is_file()  # the conversation went through the store
