"""Derive weighted sentiment words from labelled reviews (logistic regression on token presence).

Why: hand-written sentiment words catch what guests write to the bot, but long hotel reviews use a wide
everyday vocabulary ("隔音", "有点旧", "下次还住") that no one lists by hand. Counting which tokens lean
to negative or positive reviews gives that vocabulary with weights. Only the word list with rounded
weights is written (no text); `Analyzer` adds it to the hand lexicon's score, mostly mattering for long
texts.

    python -m nlp.build_sentiment REVIEWS.tsv <data_dir>/lexicons/sentiment_learned.tsv
    python -m nlp.build_sentiment REVIEWS.tsv --cv 2      # estimate accuracy on unseen reviews first

The output goes to the hotel's own lexicon directory, never to nlp/data: weights are derived from their
training data and inherit its licence. Train only on reviews the hotel may use (its own, or a corpus
whose licence allows redistribution); the shipped analyser works without any learned weights.
"""

from __future__ import annotations

import argparse
import math
import random
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from nlp.analyzer import Analyzer

MIN_COUNT = 2  # a token seen in fewer reviews than this gets no weight
L2 = 1e-3
EPOCHS = 5
RATE = 0.3


def read_rows(path: Path) -> list[tuple[str, str]]:
    """(sentiment, text) of the negative/positive rows of a TSV with `sentiment` and `text` columns."""
    rows: list[tuple[str, str]] = []
    with path.open(encoding="utf-8") as handle:
        header = handle.readline().rstrip("\n").split("\t")
        s_col, t_col = header.index("sentiment"), header.index("text")
        for line in handle:
            parts = line.rstrip("\n").split("\t")
            if len(parts) > max(s_col, t_col) and parts[s_col] in ("positive", "negative"):
                rows.append((parts[s_col], parts[t_col]))
    return rows


def train(analyzer: Analyzer, rows: Sequence[tuple[str, str]]) -> dict[str, float]:
    """Logistic regression on token presence plus the hand lexicon's score (AdaGrad, L2).

    Naive Bayes was tried first and does worse here: negative reviews are longer, so summed
    log-odds drift negative. Returns token weights plus the special keys __bias__ and __lexicon__.
    """
    data: list[tuple[int, float, list[str]]] = []
    df: Counter[str] = Counter()
    for label, text in rows:
        lex, tokens = analyzer.review_features(text)
        df.update(tokens)
        data.append((1 if label == "positive" else 0, lex, sorted(tokens)))
    data = [(y, lex, [t for t in toks if df[t] >= MIN_COUNT]) for y, lex, toks in data]
    weights: dict[str, float] = {}
    grads: dict[str, float] = {}
    bias = lex_weight = 0.0
    g_bias = g_lex = 1e-8
    order = list(range(len(data)))
    rng = random.Random(1)
    for _ in range(EPOCHS):
        rng.shuffle(order)
        for index in order:
            y, lex, tokens = data[index]
            z = bias + lex_weight * lex + sum(weights.get(t, 0.0) for t in tokens)
            p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
            g = p - y
            g_bias += g * g
            bias -= RATE * g / math.sqrt(g_bias)
            gl = g * lex
            g_lex += gl * gl
            lex_weight -= RATE * gl / math.sqrt(g_lex)
            for token in tokens:
                gt = g + L2 * weights.get(token, 0.0)
                grads[token] = grads.get(token, 1e-8) + gt * gt
                weights[token] = weights.get(token, 0.0) - RATE * gt / math.sqrt(grads[token])
    out = {t: round(w, 3) for t, w in weights.items() if abs(w) >= 0.005}
    out["__bias__"] = round(bias, 3)
    out["__lexicon__"] = round(lex_weight, 3)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path)
    parser.add_argument("output", type=Path, nargs="?")
    parser.add_argument("--cv", type=int, default=0, help="k-fold estimate of accuracy instead of writing")
    args = parser.parse_args(argv)
    rows = read_rows(args.source)
    analyzer = Analyzer(learned_sentiment={})
    if args.cv:
        random.Random(7).shuffle(rows)
        folds = [rows[i :: args.cv] for i in range(args.cv)]
        for index, test in enumerate(folds):
            train_rows = [row for j, fold in enumerate(folds) if j != index for row in fold]
            probe = Analyzer(learned_sentiment=train(analyzer, train_rows))
            right = sum(probe.analyze(text).sentiment == label for label, text in test)
            # (reviews shorter than the long-text threshold are judged by the hand lexicon alone)
            print(f"fold {index}: {right / len(test):.3f} on {len(test)}")
        return 0
    if args.output is None:
        parser.error("output is required unless --cv is given")
    weights = train(analyzer, rows)
    with args.output.open("w", encoding="utf-8") as handle:
        handle.write(f"# token\tweight  (logistic-regression weight, positive > 0; built from {args.source.name},"
                     f" {len(rows)} reviews; regenerate with python -m nlp.build_sentiment)\n")
        for token, weight in sorted(weights.items(), key=lambda item: (not item[0].startswith('__'), -abs(item[1]), item[0])):
            handle.write(f"{token}\t{weight}\n")
    print(f"{len(weights)} tokens -> {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
