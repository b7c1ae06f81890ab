"""Sentiment accuracy on a labelled review file, split into two fixed halves.

Why halves: the hand lexicon and the review thresholds were written while reading half A only, so
half B is the honest estimate of accuracy on reviews nobody looked at. The split is by an MD5 of the
review text (even → A), so it does not depend on file order and anyone can reproduce it.

    python -m nlp.evaluate_reviews ../shared/data/chnsenticorp_hotel_dev.tsv

Only negative/positive rows count; a neutral prediction counts as wrong.
"""

from __future__ import annotations

import argparse
import hashlib
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from nlp.analyzer import Analyzer
from nlp.build_sentiment import read_rows


def read_halves(path: Path) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(half A, half B) as (gold sentiment, text) rows of a TSV with `sentiment` and `text` columns."""
    half_a: list[tuple[str, str]] = []
    half_b: list[tuple[str, str]] = []
    for sentiment, text in read_rows(path):
        even = int(hashlib.md5(text.encode("utf-8")).hexdigest(), 16) % 2 == 0
        (half_a if even else half_b).append((sentiment, text))
    return half_a, half_b


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path)
    args = parser.parse_args(argv)
    analyzer = Analyzer()
    for name, rows in zip("AB", read_halves(args.source)):
        outcome: Counter[tuple[str, str]] = Counter()
        for gold, text in rows:
            outcome[(gold, analyzer.analyze(text).sentiment)] += 1
        right = outcome[("negative", "negative")] + outcome[("positive", "positive")]
        print(f"half {name}: {right / len(rows):.4f} right on {len(rows)} reviews "
              + " ".join(f"{g[:3]}->{p[:3]}:{n}" for (g, p), n in sorted(outcome.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
