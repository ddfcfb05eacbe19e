"""Query latency of search and ask in a warm process, against the bare baseline.

    .venv/bin/python bench/queries.py --index index --questions eval/questions.jsonl [--n 1000]

The baseline is what any FAISS + sentence-transformers script does for the same queries:
``SentenceTransformer.encode`` of the query and ``IndexFlatIP.search`` on the same vectors,
measured in the same run. Questions are cycled to reach ``--n``. Prints a table and writes
bench/results/queries.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from statistics import mean

RESULTS = Path(__file__).resolve().parent / "results"


def percentiles(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99),
            "mean": round(mean(ordered) * 1000, 2), "qps": round(len(ordered) / sum(ordered), 1)}


def timed(run, queries: list[str]) -> list[float]:  # type: ignore[no-untyped-def]
    times = []
    for query in queries:
        started = time.perf_counter()
        run(query)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", required=True)
    parser.add_argument("--questions", type=Path, required=True, action="append")
    parser.add_argument("--n", type=int, default=1000)
    args = parser.parse_args()

    from search.answer import Answerer
    from search.retrieval import open_searcher

    texts = [json.loads(line)["text"] for path in args.questions
             for line in path.read_text().splitlines() if line.strip()]
    queries = [texts[i % len(texts)] for i in range(args.n)]
    searcher = open_searcher(args.index)
    answerer = Answerer(searcher)
    model = searcher.embedder._model  # the same loaded model, used bare for the baseline
    vectors = searcher.snapshot.vectors

    def baseline(query: str) -> None:
        vector = model.encode([query], normalize_embeddings=True, convert_to_numpy=True,
                              show_progress_bar=False)
        vectors.search(vector, 10)

    for warm in queries[:20]:  # first calls pay for lazy initialisation
        baseline(warm)
        answerer.ask(warm)
    rows = {
        "baseline (encode + FAISS top 10)": percentiles(timed(baseline, queries)),
        "search (hybrid, top 10)": percentiles(timed(lambda q: searcher.search(q, 10), queries)),
        "search (dense, top 10)": percentiles(
            timed(lambda q: searcher.search(q, 10, mode="dense"), queries)),
        "ask": percentiles(timed(answerer.ask, queries)),
    }
    base = rows["baseline (encode + FAISS top 10)"]["p95"]
    machine = platform.processor() or platform.machine()
    print(f"{len(queries)} queries over {vectors.ntotal:,} chunks, {machine}")
    print(f"{'':<34}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'q/s':>8}{'p95 vs baseline':>17}")
    for name, row in rows.items():
        print(f"{name:<34}{row['p50']:>9}{row['p95']:>9}{row['p99']:>9}{row['qps']:>8}"
              f"{row['p95'] / base:>16.2f}x")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "queries.json").write_text(json.dumps(
        {"queries": len(queries), "chunks": vectors.ntotal, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
