"""Measuring the analyser against labelled messages: per-category P/R/F1, confusion, macro-F1, sentiment.

Lives in nlp/ (not in the CLI) so tests and the `concierge nlp eval` command compute the same numbers.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from nlp.analysis import CATEGORIES
from nlp.analyzer import Analyzer


@dataclass(frozen=True, slots=True)
class Example:
    category: str
    text: str
    sentiment: str | None = None


@dataclass
class Report:
    """Everything `nlp eval` prints."""

    labels: list[str]
    per_category: dict[str, tuple[float, float, float, int]]  # precision, recall, f1, support
    confusion: dict[str, Counter[str]]
    macro_f1: float
    accuracy: float
    total: int
    sentiment_accuracy: float | None = None
    sentiment_polar_accuracy: float | None = None  # on gold negative/positive only
    sentiment_total: int = 0
    errors: list[tuple[str, str, str]] = field(default_factory=list)  # gold, predicted, text

    def format(self, show_errors: int = 0) -> str:
        width = max(len(c) for c in self.labels) + 2
        lines = [f"{'category':<{width}}{'prec':>7}{'rec':>7}{'f1':>7}{'n':>6}"]
        for label in self.labels:
            p, r, f, n = self.per_category[label]
            lines.append(f"{label:<{width}}{p:7.3f}{r:7.3f}{f:7.3f}{n:6d}")
        lines.append("")
        lines.append(f"macro-F1 {self.macro_f1:.3f}   accuracy {self.accuracy:.3f}   messages {self.total}")
        if self.sentiment_accuracy is not None:
            polar = f"{self.sentiment_polar_accuracy:.3f}" if self.sentiment_polar_accuracy is not None else "n/a"
            lines.append(f"sentiment accuracy {self.sentiment_accuracy:.3f} (negative/positive only: {polar}) "
                         f"on {self.sentiment_total}")
        lines.append("")
        lines.append("confusion (rows gold, columns predicted):")
        short = [label[:6] for label in self.labels]
        lines.append(" " * width + "".join(f"{s:>7}" for s in short))
        for gold in self.labels:
            row = self.confusion.get(gold, Counter())
            lines.append(f"{gold:<{width}}" + "".join(f"{row.get(pred, 0):>7}" for pred in self.labels))
        if show_errors and self.errors:
            lines.append("")
            lines.append("errors:")
            for gold, pred, text in self.errors[:show_errors]:
                lines.append(f"  {gold} -> {pred}: {text}")
        return "\n".join(lines)


def read_tsv(path: Path) -> list[Example]:
    """Read a labelled TSV with a header row naming at least `category` and `text` (and maybe `sentiment`)."""
    examples: list[Example] = []
    with Path(path).open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        if reader.fieldnames is None or not {"category", "text"} <= set(reader.fieldnames):
            raise ValueError(f"{path}: header must name the columns 'category' and 'text'")
        for row in reader:
            text = (row.get("text") or "").strip()
            category = (row.get("category") or "").strip()
            if not text or not category:
                continue
            sentiment = (row.get("sentiment") or "").strip() or None
            examples.append(Example(category, text, sentiment))
    return examples


def evaluate(analyzer: Analyzer, examples: Sequence[Example], now: datetime | None = None) -> Report:
    """Classify every example and compare with its labels."""
    confusion: dict[str, Counter[str]] = {}
    errors: list[tuple[str, str, str]] = []
    sent_total = sent_right = polar_total = polar_right = 0
    for example in examples:
        analysis = analyzer.analyze(example.text, now=now)
        confusion.setdefault(example.category, Counter())[analysis.category] += 1
        if analysis.category != example.category:
            errors.append((example.category, analysis.category, example.text))
        if example.sentiment:
            sent_total += 1
            sent_right += analysis.sentiment == example.sentiment
            if example.sentiment in ("negative", "positive"):
                polar_total += 1
                polar_right += analysis.sentiment == example.sentiment
    labels = [c for c in CATEGORIES if c in confusion or any(c in row for row in confusion.values())]
    labels += sorted({c for c in confusion} - set(labels))
    per_category: dict[str, tuple[float, float, float, int]] = {}
    for label in labels:
        tp = confusion.get(label, Counter()).get(label, 0)
        support = sum(confusion.get(label, Counter()).values())
        predicted = sum(row.get(label, 0) for row in confusion.values())
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_category[label] = (precision, recall, f1, support)
    gold_labels = [label for label in labels if per_category[label][3] > 0]
    macro = sum(per_category[label][2] for label in gold_labels) / len(gold_labels) if gold_labels else 0.0
    total = len(examples)
    correct = sum(confusion.get(label, Counter()).get(label, 0) for label in labels)
    return Report(
        labels=labels,
        per_category=per_category,
        confusion=confusion,
        macro_f1=macro,
        accuracy=correct / total if total else 0.0,
        total=total,
        sentiment_accuracy=sent_right / sent_total if sent_total else None,
        sentiment_polar_accuracy=polar_right / polar_total if polar_total else None,
        sentiment_total=sent_total,
        errors=errors,
    )


def sentiment_accuracy(analyzer: Analyzer, rows: Iterable[tuple[str, str]]) -> tuple[float, int]:
    """Share of (gold sentiment, text) rows whose predicted sentiment matches; neutral counts as wrong."""
    total = right = 0
    for gold, text in rows:
        total += 1
        right += analyzer.analyze(text).sentiment == gold
    return (right / total if total else 0.0), total
