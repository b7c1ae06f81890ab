"""`concierge nlp classify|eval`: what the NLP layer makes of a message, and scores on a labelled file.

The analysis itself lives in nlp/; only the wiring (settings, argument parsing, printing) is here.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.cli.common import settings_of
from bot.nlp_setup import build_analyzer


def _parse_now(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--now: not an ISO 8601 date-time: {value!r}") from exc


def _line_text(line: str) -> str:
    """A --jsonl input line is raw text, unless it is a JSON object with a "text" key."""
    stripped = line.strip()
    if stripped.startswith("{"):
        try:
            value = json.loads(stripped)
        except ValueError:
            return line.rstrip("\r\n")
        if isinstance(value, dict) and isinstance(value.get("text"), str):
            return value["text"]
    return line.rstrip("\r\n")


def _classify(args: argparse.Namespace) -> int:
    try:
        now = _parse_now(args.now)
    except argparse.ArgumentTypeError as exc:
        print(f"concierge nlp classify: {exc}", file=sys.stderr)
        return 2
    analyzer = build_analyzer(settings_of(args))
    out = sys.stdout

    def emit(text: str) -> None:
        payload: dict[str, Any] = analyzer.analyze(text, now=now).to_dict()
        out.write(json.dumps(payload, ensure_ascii=False) + "\n")

    if args.text is not None and not args.jsonl:
        emit(args.text)
    else:
        if args.text is not None:
            emit(args.text)
        for line in sys.stdin:
            if not line.strip():
                continue
            emit(_line_text(line))
            out.flush()
    out.flush()
    return 0


def _eval(args: argparse.Namespace) -> int:
    from nlp.evaluate import evaluate, read_tsv

    try:
        examples = read_tsv(args.file)
    except (OSError, ValueError) as exc:
        print(f"concierge nlp eval: {exc}", file=sys.stderr)
        return 2
    analyzer = build_analyzer(settings_of(args))
    report = evaluate(analyzer, examples, now=_parse_now(args.now) if args.now else None)
    print(report.format(show_errors=args.errors))
    return 0


def add_nlp_commands(subparsers: Any) -> None:
    """Register `nlp classify` and `nlp eval` on the top-level sub-command table."""
    nlp = subparsers.add_parser("nlp", help="text understanding: classify messages, evaluate on a labelled set")
    nlp_sub = nlp.add_subparsers(dest="nlp_command", required=True)

    classify = nlp_sub.add_parser("classify", help="print the analysis of TEXT (or of each stdin line) as JSON")
    classify.add_argument("text", nargs="?", default=None, help="message text; omit to read lines from stdin")
    classify.add_argument("--jsonl", action="store_true",
                          help="read one message per stdin line (raw text, or a JSON object with a 'text' key)")
    classify.add_argument("--now", default=None, help="resolve relative dates against this ISO 8601 time")
    classify.set_defaults(func=_classify)

    evaluate = nlp_sub.add_parser("eval", help="per-category precision/recall/F1, confusion matrix, macro-F1")
    evaluate.add_argument("file", type=Path, help="TSV with a header row: category, text[, sentiment]")
    evaluate.add_argument("--errors", type=int, default=0, metavar="N", help="also list the first N misclassified")
    evaluate.add_argument("--now", default=None, help="resolve relative dates against this ISO 8601 time")
    evaluate.set_defaults(func=_eval)
