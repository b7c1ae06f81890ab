"""``concierge chat``: the same pipeline in a terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import CONFIG, ROOT


def test_terminal_chat_answers_and_presses_buttons_by_number(tmp_path: Path) -> None:
    env = {**os.environ, "CONCIERGE_DATA_DIR": str(tmp_path), "CONCIERGE_CONFIG": str(CONFIG)}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat"],
        input="早餐几点？\n2\n/quit\n", capture_output=True, text=True, timeout=120, env=env, cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert "欢迎来到云栖酒店" in done.stdout and "[1]" in done.stdout
    assert "6:30" in done.stdout
    assert "请直接告诉我您需要什么服务" in done.stdout  # "2" pressed the second button of the last reply
    assert "Traceback" not in done.stderr
