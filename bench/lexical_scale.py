"""What opening the lexical index of ~35,000 chunks of ~90 tokens costs (run by hand).

    .venv/bin/python bench/lexical_scale.py

Synthetic term counts, Zipf-distributed like real text, in 7 segments of 5,000 chunks:
the time to concatenate the segments' counts, to build the BM25 index, and per query.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from search.lexical import LexicalIndex, TermCounts


def main() -> None:
    rng = np.random.default_rng(7)
    vocabulary = tuple(f"term{i}" for i in range(60_000))
    segments, rows = [], 35_000
    for size in [5_000] * 7:
        tokens = rng.zipf(1.2, size=size * 90) % len(vocabulary)
        row = np.repeat(np.arange(size), 90)
        keys, counts = np.unique(row * len(vocabulary) + tokens, return_counts=True)
        offsets = np.zeros(size + 1, dtype=np.int64)
        np.cumsum(np.bincount(keys // len(vocabulary), minlength=size), out=offsets[1:])
        segments.append(TermCounts(vocabulary, offsets,
                                   (keys % len(vocabulary)).astype(np.int32),
                                   counts.astype(np.int32)))
    start = time.perf_counter()
    terms = TermCounts.concatenate(segments)
    concatenated = time.perf_counter()
    built = LexicalIndex(terms)
    finished = time.perf_counter()
    queries = ["term1 term17 term300", "term5 term5 term42 term999 term20000", "term3"]
    built.search(queries[0], 100)
    searched = time.perf_counter()
    for query in queries * 10:
        built.search(query, 100)
    query_ms = (time.perf_counter() - searched) / 30 * 1000
    assert built.size == rows
    print(f"{rows} rows, {int(terms.counts.sum())} tokens, {len(terms.term_ids)} postings: "
          f"concatenate {concatenated - start:.3f} s, build {finished - concatenated:.3f} s, "
          f"query {query_ms:.2f} ms")


if __name__ == "__main__":
    main()
