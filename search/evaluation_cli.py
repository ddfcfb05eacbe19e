"""``python -m search eval``, ``calibrate`` and ``coverage``: the figures and the
content team's matrix, printed or as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from search.config import MODES, Settings
from search.errors import QueryError


def evaluate_command(searcher: Any, answerer: Any, args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from search.evaluation import evaluate, load_questions

    questions = load_questions(args.questions, args.split)
    if not questions:
        raise QueryError(f"no questions in {args.questions}"
                         + (f" with split {args.split!r}" if args.split else ""))
    modes = MODES if args.mode == "all" else (
        args.mode or searcher.settings.mode,)
    reports = [evaluate(searcher, questions, mode, None if args.no_answers else answerer)
               for mode in modes]
    if args.json:
        print(json.dumps({"questions": str(args.questions), "split": args.split,
                          "modes": [asdict(r) for r in reports]}, indent=2))
        return 0
    print(f"{args.questions} ({args.split or 'all splits'}): {reports[0].questions} "
          "answerable questions with an expected document")
    print(f"{'':<24}" + "".join(f"{r.mode:>18}" for r in reports))
    for label, cell in _EVAL_ROWS:
        print(f"{label:<24}" + "".join(f"{cell(r):>18}" for r in reports))
    return 0


def _hits(values: dict[int, float]) -> str:
    return "/".join(f"{values[k]:.2f}" for k in (1, 3, 10))


def _percent(value: float | None, count: int | None = None) -> str:
    if value is None:
        return "-"
    return f"{value:.1%}" + (f" of {count}" if count else "")


def _latency(values: dict[str, float]) -> str:
    return f"{values['p50']}/{values['p95']}" if values else "-"


_EVAL_ROWS: list[tuple[str, Callable[[Any], str]]] = [
    ("doc hit@1/3/10", lambda r: _hits(r.doc_hits)),
    ("doc MRR@10", lambda r: f"{r.doc_mrr:.3f}"),
    ("section hit@1/3/10", lambda r: _hits(r.section_hits)),
    ("section MRR@10", lambda r: f"{r.section_mrr:.3f}"),
    ("facts in answer", lambda r: _percent(r.facts, r.facts_questions)),
    ("answered (answerable)", lambda r: _percent(r.answered_when_answerable)),
    ("refusal precision", lambda r: _percent(r.refusal_precision)),
    ("refusal recall", lambda r: _percent(r.refusal_recall)),
    ("search p50/p95 ms", lambda r: _latency(r.search_ms)),
    ("ask p50/p95 ms", lambda r: _latency(r.ask_ms)),
]


def calibrate_command(answerer: Any, args: argparse.Namespace) -> int:
    from search.evaluation import calibrate, load_questions

    split = None if args.split == "all" else args.split
    questions = [q for path in args.questions for q in load_questions(path, split)]
    if not questions:
        raise QueryError(f"no questions of split {args.split!r} in the files given")
    result = calibrate(answerer, questions)
    if args.write:
        args.write.write_text(json.dumps(result["model"], indent=1) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    model = result["model"]
    print(f"Answerability fitted on {result['fitted']} of {result['questions']} questions "
          f"({args.split}; the rest were refused by a rule first): answers "
          f"{result['answered_when_answerable']:.1%} of {result['answerable']} answerable, "
          f"refuses {result['refused_when_unanswerable']:.1%} of {result['unanswerable']} "
          "unanswerable")
    print("weights: " + ", ".join(f"{k} {v:+.3f}" for k, v in model["weights"].items())
          + f", bias {model['bias']:+.3f}")
    print(f"Written to {args.write}." if args.write else
          "Add --write to serve it (search/data/answerability.json).")
    return 0


def coverage_command(answerer: Any, settings: Settings, args: argparse.Namespace) -> int:
    from search.coverage import coverage_matrix
    from search.spreadsheet import csv_text

    documents = answerer.searcher.snapshot.documents
    doc_ids = sorted(documents, key=lambda d: documents[d].document.title.lower())
    matrix = coverage_matrix(answerer, doc_ids, settings.coverage.questions)
    record = matrix.as_dict(documents)
    if args.json:
        print(json.dumps(record, indent=1, ensure_ascii=False))
    elif args.csv:
        sys.stdout.write(csv_text([
            ["doc_id", "source", "title", *record["columns"]],
            *([row["doc_id"], row["source"], row["title"],
               *("covered" if row["cells"][c]["covered"] else "not covered"
                 for c in record["columns"])] for row in record["rows"])]))
    else:
        for row in record["rows"]:
            missing = [c for c in record["columns"] if not row["cells"][c]["covered"]]
            print(f"{row['title']}: " + ("covers every standard question" if not missing
                                         else "not covered: " + "; ".join(
                                             f"{c} ({row['cells'][c]['reason']})"
                                             for c in missing)))
    return 0
