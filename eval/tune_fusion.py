"""Grid-search the hybrid ranker's fusion settings on development questions.

    .venv/bin/python eval/tune_fusion.py --set eval/questions.jsonl index \
        --set /tmp/medquad500/questions.jsonl /tmp/mq500-index ...

Prints section-level MRR@10 of dense, lexical and every hybrid setting on each set's
``dev`` split (retrieval only), so that the shipped defaults are earned, not assumed.
"""

from __future__ import annotations

import argparse
import itertools
from dataclasses import replace
from pathlib import Path

from search.config import RetrievalSettings
from search.evaluation import evaluate, load_questions
from search.retrieval import Searcher, open_searcher


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", nargs=2, action="append", required=True,
                        metavar=("QA.jsonl", "INDEX"))
    parser.add_argument("--split", default="dev")
    parser.add_argument("--limit", type=int, default=300, help="questions per set at most")
    parser.add_argument("--weights", type=float, nargs="+", default=[0.25, 0.5, 0.75, 1.0],
                        help="lexical weights to try (dense weight is 1)")
    parser.add_argument("--rrf-k", type=int, nargs="+", default=[10, 60])
    parser.add_argument("--title-weights", type=float, nargs="+", default=[0.0],
                        help="votes for documents the question names")
    parser.add_argument("--expand", choices=["both", "yes", "no"], default="both",
                        help="add vocabulary terms to the embedded query too")
    args = parser.parse_args()
    grid = [("dense", RetrievalSettings(mode="dense")),
            ("lexical", RetrievalSettings(mode="lexical"))]
    expands = {"both": (True, False), "yes": (True,), "no": (False,)}[args.expand]
    for weight, rrf_k, expand, title in itertools.product(args.weights, args.rrf_k, expands,
                                                          args.title_weights):
        settings = RetrievalSettings(lexical_weight=weight, rrf_k=rrf_k, expand_dense=expand,
                                     title_weight=title)
        grid.append((f"hybrid w={weight} k={rrf_k} t={title} e={expand:d}", settings))
    grid.append(("dense expand=False", RetrievalSettings(mode="dense", expand_dense=False)))
    sets = []
    for questions_path, index in args.set:
        questions = load_questions(Path(questions_path), args.split)[: args.limit]
        sets.append((Path(questions_path).name, questions, open_searcher(index)))
    print(f"{'setting':<36}" + "".join(f"{name[:22]:>24}" for name, _, _ in sets))
    for label, settings in grid:
        cells = []
        for _, questions, base in sets:
            searcher = Searcher(base.snapshot, base.embedder, replace(settings))
            report = evaluate(searcher, questions, settings.mode)
            cells.append(f"{report.section_mrr:.3f} ({report.doc_mrr:.3f})")
        print(f"{label:<36}" + "".join(f"{c:>24}" for c in cells), flush=True)


if __name__ == "__main__":
    main()
