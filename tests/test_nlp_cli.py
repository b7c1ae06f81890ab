"""`concierge nlp classify|eval` and `concierge bench nlp` wiring: arguments, stdin, output and exit codes.

Run in-process through ``bot.cli.main`` (a fresh interpreter per command spent most of this file's time
loading jieba again); the analyser is the session's, built from the same config by the same
``build_analyzer``. The installed ``concierge`` entry point is run as a program in test_config.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import Settings
from nlp import Analyzer

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, analyzer: Analyzer) -> Path:
    """The repository's config, its data dir in a temporary directory; the commands get the shared analyser."""
    target = tmp_path / "config.yaml"
    shutil.copy(ROOT / "config.yaml", target)
    for name in ("CONCIERGE_CONFIG", "CONCIERGE_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CONCIERGE_DATA_DIR", str(tmp_path / "data"))

    def shared(settings: Settings) -> Analyzer:
        assert settings.data_dir == tmp_path / "data"  # the command read the settings it was given
        return analyzer

    monkeypatch.setattr("bot.cli.nlp.build_analyzer", shared)
    monkeypatch.setattr("bot.nlp_setup.build_analyzer", shared)  # `bench nlp` imports it when it runs
    return target


def _run(monkeypatch: pytest.MonkeyPatch, config: Path, *args: str, stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(["--config", str(config), *args])


def test_classify_one_text(config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code = _run(monkeypatch, config, "nlp", "classify", "明晚还有大床房吗？两个人住两晚", "--now", "2025-12-20T10:00:00+08:00")
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 1
    data = json.loads(lines[0])
    assert {"lang", "category", "confidence", "sentiment", "urgency", "entities", "keywords", "preferences"} <= set(data)
    assert data["category"] == "booking"
    assert data["entities"]["check_in"] == "2025-12-21"
    assert "大床房" in out  # ensure_ascii=False


def test_classify_jsonl(config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    stdin = '{"text": "wifi密码是多少"}\n房間的冷氣壞了\n\nThe AC is broken\n{"not_text": 1}\n'
    code = _run(monkeypatch, config, "nlp", "classify", "--jsonl", stdin=stdin)
    out, err = capsys.readouterr()
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [row["category"] for row in rows[:3]] == ["faq", "maintenance", "maintenance"]
    assert [row["lang"] for row in rows[:3]] == ["zh-Hans", "zh-Hant", "en"]
    assert len(rows) == 4


def test_classify_rejects_bad_now(config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(monkeypatch, config, "nlp", "classify", "hi", "--now", "yesterday-ish") == 2
    assert "--now" in capsys.readouterr().err


def test_eval_prints_the_report(config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "small.tsv"
    data.write_text("category\ttext\tsentiment\nmaintenance\t空调坏了\tnegative\nbooking\t明晚有房吗\tneutral\n"
                    "praise\t谢谢你们，服务很好\tpositive\n", encoding="utf-8")
    code = _run(monkeypatch, config, "nlp", "eval", str(data))
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "macro-F1 1.000" in out
    assert "sentiment accuracy 1.000" in out
    assert "confusion" in out


def test_eval_names_a_missing_file(config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(monkeypatch, config, "nlp", "eval", str(tmp_path / "nope.tsv")) == 2
    assert "nope.tsv" in capsys.readouterr().err


def test_bench_nlp_prints_figures(config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Start-up is still measured in fresh interpreters (that is what the figure is)."""
    messages = tmp_path / "messages.txt"
    messages.write_text("空调坏了\n明晚有房吗\nThe AC is broken\n", encoding="utf-8")
    code = _run(monkeypatch, config, "bench", "nlp", "--file", str(messages), "--seconds", "0.2", "--json")
    out, err = capsys.readouterr()
    assert code == 0, err
    figures = json.loads(out.strip().splitlines()[-1])
    assert {"jieba_lcut_per_s", "classify_per_s", "ratio", "startup_cold_s", "startup_warm_s"} <= set(figures)
    assert figures["startup_cold_s"] > 0 and figures["startup_warm_s"] > 0
