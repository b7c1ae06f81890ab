"""`concierge nlp classify|eval` and `concierge bench nlp` wiring, run as a user would."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's config, with its data dir (and so jieba's cache) in a temporary directory."""
    directory = tmp_path_factory.mktemp("nlp-cli")
    target = directory / "config.yaml"
    shutil.copy(ROOT / "config.yaml", target)
    return target


def _run(config: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONCIERGE_")}
    env["CONCIERGE_DATA_DIR"] = str(config.parent / "data")
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "--config", str(config), *args],
        input=stdin, capture_output=True, text=True, cwd=str(ROOT), env=env, timeout=120,
    )


def test_classify_one_text(config: Path) -> None:
    result = _run(config, "nlp", "classify", "明晚还有大床房吗？两个人住两晚", "--now", "2025-12-20T10:00:00+08:00")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    data = json.loads(lines[0])
    assert {"lang", "category", "confidence", "sentiment", "urgency", "entities", "keywords", "preferences"} <= set(data)
    assert data["category"] == "booking"
    assert data["entities"]["check_in"] == "2025-12-21"
    assert "大床房" in result.stdout  # ensure_ascii=False


def test_classify_jsonl(config: Path) -> None:
    stdin = '{"text": "wifi密码是多少"}\n房間的冷氣壞了\n\nThe AC is broken\n{"not_text": 1}\n'
    result = _run(config, "nlp", "classify", "--jsonl", stdin=stdin)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["category"] for row in rows[:3]] == ["faq", "maintenance", "maintenance"]
    assert [row["lang"] for row in rows[:3]] == ["zh-Hans", "zh-Hant", "en"]
    assert len(rows) == 4


def test_classify_rejects_bad_now(config: Path) -> None:
    result = _run(config, "nlp", "classify", "hi", "--now", "yesterday-ish")
    assert result.returncode == 2 and "--now" in result.stderr


def test_eval_prints_the_report(config: Path, tmp_path: Path) -> None:
    data = tmp_path / "small.tsv"
    data.write_text("category\ttext\tsentiment\nmaintenance\t空调坏了\tnegative\nbooking\t明晚有房吗\tneutral\n"
                    "praise\t谢谢你们，服务很好\tpositive\n", encoding="utf-8")
    result = _run(config, "nlp", "eval", str(data))
    assert result.returncode == 0, result.stderr
    assert "macro-F1 1.000" in result.stdout
    assert "sentiment accuracy 1.000" in result.stdout
    assert "confusion" in result.stdout


def test_bench_nlp_prints_figures(config: Path, tmp_path: Path) -> None:
    messages = tmp_path / "messages.txt"
    messages.write_text("空调坏了\n明晚有房吗\nThe AC is broken\n", encoding="utf-8")
    result = _run(config, "bench", "nlp", "--file", str(messages), "--seconds", "0.2", "--json")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"jieba_lcut_per_s", "classify_per_s", "ratio", "startup_cold_s", "startup_warm_s"} <= set(figures)
