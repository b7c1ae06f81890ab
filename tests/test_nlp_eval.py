"""Quality gates on our own labelled data: macro-F1, sentiment, entities (exact match)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from nlp import Analyzer
from nlp.evaluate import evaluate, read_tsv

DATA = Path(__file__).resolve().parent / "data"
NOW = datetime.fromisoformat("2025-12-20T10:00:00+08:00")


@pytest.fixture(scope="module")
def dev_report(analyzer: Analyzer):  # type: ignore[no-untyped-def]
    return evaluate(analyzer, read_tsv(DATA / "nlp_dev.tsv"), now=NOW)


def test_dev_set_is_big_and_covers_every_category() -> None:
    examples = read_tsv(DATA / "nlp_dev.tsv")
    assert len(examples) >= 400
    counts: dict[str, int] = {}
    for example in examples:
        counts[example.category] = counts.get(example.category, 0) + 1
    assert len(counts) == 12 and min(counts.values()) >= 25


def test_macro_f1_on_dev_set(dev_report) -> None:  # type: ignore[no-untyped-def]
    assert dev_report.macro_f1 >= 0.90, dev_report.format(show_errors=40)


def test_every_category_reasonable(dev_report) -> None:  # type: ignore[no-untyped-def]
    for label, (_, _, f1, support) in dev_report.per_category.items():
        if support:
            assert f1 >= 0.8, (label, dev_report.format())


def test_macro_f1_per_language(analyzer: Analyzer) -> None:
    examples = read_tsv(DATA / "nlp_dev.tsv")
    by_lang: dict[str, list] = {}
    for example in examples:
        by_lang.setdefault(analyzer.analyze_strict(example.text).lang, []).append(example)
    for lang, subset in by_lang.items():
        report = evaluate(analyzer, subset, now=NOW)
        assert report.accuracy >= 0.9, (lang, report.format(show_errors=20))


def test_sentiment_on_dev_set(dev_report) -> None:  # type: ignore[no-untyped-def]
    assert dev_report.sentiment_accuracy is not None and dev_report.sentiment_accuracy >= 0.9
    assert dev_report.sentiment_polar_accuracy is not None and dev_report.sentiment_polar_accuracy >= 0.9


def test_entities_exact(analyzer: Analyzer) -> None:
    cases = [json.loads(line) for line in (DATA / "nlp_entities.jsonl").read_text(encoding="utf-8").splitlines() if line]
    assert len(cases) >= 50
    wrong = []
    for case in cases:
        got = analyzer.analyze_strict(case["text"], now=datetime.fromisoformat(case["now"])).entities
        if got != case["entities"]:
            wrong.append((case["text"], case["entities"], got))
    assert 1 - len(wrong) / len(cases) >= 0.85, wrong


def test_read_tsv_needs_a_header(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tsv"
    bad.write_text("booking\t订房\n", encoding="utf-8")
    with pytest.raises(ValueError):
        read_tsv(bad)


def test_review_overlap_with_third_party_training_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`evaluate_reviews --overlap` finds reviews a third-party model was trained on (verbatim up to
    spaces and punctuation, or sharing a long run of characters) and nothing else."""
    from nlp.evaluate_reviews import main, overlap_counts, read_halves

    reviews = [
        ("positive", "房间干净，服务热情，下次还会再来。"),
        ("negative", "隔音太差了，整晚都睡不好，前台态度也很冷淡，不会再住。"),
        ("positive", "位置很好，离地铁站只有五分钟，早餐品种丰富，性价比高。"),
        ("negative", "空调坏了没人修"),
    ]
    tsv = tmp_path / "reviews.tsv"
    tsv.write_text("sentiment\ttext\n" + "".join(f"{s}\t{t}\n" for s, t in reviews), encoding="utf-8")
    training = tmp_path / "pos.txt"
    training.write_text("房间干净 服务热情 下次还会再来\n"  # same review, other punctuation
                        "我们一家：位置很好，离地铁站只有五分钟，早餐品种丰富！\n"  # shares a long run
                        "空调坏了\n", encoding="utf-8")  # too short a run to count
    halves = read_halves(tsv)
    counts = overlap_counts(halves, [training])
    assert sum(v for v, _ in counts) == 1 and sum(s for _, s in counts) == 1
    assert main([str(tsv), "--overlap", str(training)]) == 0
    assert "verbatim" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exited:  # a mistyped path: a clear message, not a traceback
        main([str(tsv), "--overlap", str(tmp_path / "missing.txt")])
    assert exited.value.code == 2 and "missing.txt: no such file" in capsys.readouterr().err
