"""Scale: exact and approximate vector search at up to a million synthetic chunk vectors.

    .venv/bin/python bench/scale.py [--n 1000000 | --quick] [--skip-hnsw] [--budget-ms 10]

Compares the exact IndexFlatIP, IVF-Flat from ``search.vectors.build_vector_index`` at a few
nprobe values, and HNSW-Flat, on build time, peak memory growth, size on disk, single-query
latency and recall against exact. Then times exact search alone at growing prefixes of the
data: the smallest size whose p95 exceeds ``--budget-ms`` is the suggested
``approximate_from``. ``--quick`` is n = 200,000. Writes bench/results/scale.json.

The vectors imitate sentence embeddings (see ``Distribution``); no model is loaded.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

import machine  # bench/machine.py: scripts run from bench/ find it first

if TYPE_CHECKING:
    import faiss
    import numpy as np

DIMENSION = 384
QUERIES = 1_000
LADDER = (10_000, 25_000, 50_000, 100_000, 200_000, 500_000, 1_000_000)
#: Queries timed per ladder step: enough for a stable p95, and the 1M step stays short.
LADDER_QUERIES = 300
NPROBES = (8, 16, 32, 64)
EF_SEARCHES = (16, 32, 64, 128, 256)
#: Allowed-row counts for filtered IVF searches (a document filter is the small end).
FILTERS = (100, 2_000, 10_000, 100_000)
FILTER_QUERIES = 200
CHUNK = 50_000  # rows generated at a time, to bound the temporary arrays


@dataclass(frozen=True)
class Distribution:
    """Fixed parts of a synthetic embedding space, tuned to look like sentence embeddings.

    A point is shared·s + centre·c + topic-subspace noise + isotropic noise, normalised.
    The shared direction gives unrelated texts a mean cosine of ~0.24 (MiniLM on this
    corpus: 0.27–0.29). 20,000 centres in 50 topics, with noise living in a
    32-dimensional subspace per topic, give a continuum of near neighbours rather than
    isolated blobs, which make IVF look perfect (a blobbier first try, 500 topics with
    16-dimensional noise, gave recall@10 0.99 at nprobe 4). At 100k points a query's median top-1 /
    top-10 / top-100 cosine is 0.67 / 0.60 / 0.51 (the 348 real chunks: 0.81 / 0.58 /
    0.35, from a far smaller pool).
    """

    shared: np.ndarray  # (d,)
    bases: np.ndarray  # (topics, rank, d), orthonormal rows
    centres: np.ndarray  # (centres, d)
    centre_topic: np.ndarray  # (centres,)


WEIGHTS = {"shared": 0.5, "centre": 0.55, "subspace": 0.65, "isotropic": 0.3}


def unit(x: np.ndarray) -> np.ndarray:
    import numpy as np

    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def make_distribution(seed: int = 7, topics: int = 50, centres: int = 20_000,
                      rank: int = 32, spread: float = 1.5) -> Distribution:
    import numpy as np

    rng = np.random.default_rng(seed)
    shared = unit(rng.standard_normal(DIMENSION))
    topic_vectors = unit(rng.standard_normal((topics, DIMENSION)))
    bases = np.linalg.qr(rng.standard_normal((topics, DIMENSION, rank)))[0]
    bases = bases.transpose(0, 2, 1).astype(np.float32)
    owner = rng.integers(topics, size=centres)
    offsets = rng.standard_normal((centres, rank)).astype(np.float32) / np.sqrt(rank)
    spread_within = np.einsum("cr,crd->cd", offsets, bases[owner])
    return Distribution(shared, bases, unit(topic_vectors[owner] + spread * spread_within),
                        owner)


def draw(space: Distribution, n: int, seed: int) -> np.ndarray:
    """``n`` unit vectors in float32, made ``CHUNK`` rows at a time."""
    import numpy as np

    out = np.empty((n, DIMENSION), dtype=np.float32)
    rank = space.bases.shape[1]
    for start in range(0, n, CHUNK):
        rng = np.random.default_rng((seed, start))
        size = min(CHUNK, n - start)
        centre = rng.integers(len(space.centres), size=size)
        x = WEIGHTS["shared"] * space.shared + WEIGHTS["centre"] * space.centres[centre]
        x += (WEIGHTS["isotropic"] / np.sqrt(DIMENSION)) * rng.standard_normal(
            (size, DIMENSION), dtype=np.float32)
        within = rng.standard_normal((size, rank), dtype=np.float32) / np.sqrt(rank)
        topic = space.centre_topic[centre]
        for rows in _groups(topic):  # one matrix product per topic, not a (size, r, d) gather
            x[rows] += WEIGHTS["subspace"] * (within[rows] @ space.bases[topic[rows[0]]])
        out[start:start + size] = unit(x)
    return out


def _groups(labels: np.ndarray) -> Iterator[np.ndarray]:
    import numpy as np

    order = np.argsort(labels, kind="stable")
    yield from np.split(order, np.flatnonzero(np.diff(labels[order])) + 1)


# --- measuring ---------------------------------------------------------------------------

def memory_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def reset_peak() -> None:
    """Let VmHWM restart from the current RSS, so each build's own peak is visible."""
    Path("/proc/self/clear_refs").write_text("5")


@dataclass(frozen=True)
class Build:
    index: faiss.Index
    seconds: float
    peak_growth_mb: float
    disk_mb: float


def build(make: Callable[[], faiss.Index], threads: int) -> Build:
    import faiss

    faiss.omp_set_num_threads(threads)
    reset_peak()
    before = memory_mb("VmRSS")
    started = time.perf_counter()
    index = make()
    seconds = time.perf_counter() - started
    growth = memory_mb("VmHWM") - before
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "index.faiss"
        faiss.write_index(index, str(path))
        disk = path.stat().st_size / 2**20
    return Build(index, seconds, growth, disk)


def latencies(index: faiss.Index, queries: np.ndarray, k: int) -> tuple[np.ndarray, list[float]]:
    """Rows found and seconds taken, one query at a time on one thread (as the product
    serves them: the embedder and FAISS are pinned to one thread each per query)."""
    import faiss
    import numpy as np

    faiss.omp_set_num_threads(1)
    for query in queries[:10]:  # first calls pay for lazy initialisation
        index.search(query[None], k)
    found, seconds = [], []
    for query in queries:
        started = time.perf_counter()
        _, rows = index.search(query[None], k)
        seconds.append(time.perf_counter() - started)
        found.append(rows[0])
    return np.array(found), seconds


def percentile_ms(seconds: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(seconds, q) * 1000)


def recall(found: np.ndarray, truth: np.ndarray, k: int) -> float:
    import numpy as np

    hits = sum(len(np.intersect1d(f[:k], t[:k])) for f, t in zip(found, truth, strict=True))
    return hits / (k * len(truth))


@dataclass(frozen=True)
class Row:
    name: str
    setting: str
    build_s: float
    peak_growth_mb: float
    disk_mb: float
    p50_ms: float
    p95_ms: float
    recall_at_10: float
    recall_at_k: float
    p95_vs_exact: float = 1.0


def row(name: str, setting: str, built: Build, queries: np.ndarray, truth: np.ndarray,
        k: int, exact_p95: float | None = None) -> Row:
    found, seconds = latencies(built.index, queries, k)
    p95 = percentile_ms(seconds, 95)
    return Row(name, setting, round(built.seconds, 2), round(built.peak_growth_mb, 1),
               round(built.disk_mb, 1), round(percentile_ms(seconds, 50), 3), round(p95, 3),
               round(recall(found, truth, 10), 4), round(recall(found, truth, k), 4),
               round(p95 / (exact_p95 or p95), 4))


# --- the contenders ----------------------------------------------------------------------

def flat(data: np.ndarray) -> faiss.Index:
    import faiss

    index = faiss.IndexFlatIP(data.shape[1])  # inner product on unit vectors = cosine
    index.add(data)
    return index


def hnsw(data: np.ndarray) -> faiss.Index:
    import faiss

    index = faiss.IndexHNSWFlat(data.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 40
    index.add(data)
    return index


@dataclass(frozen=True)
class Filtered:
    allowed: int
    p50_ms: float
    p95_ms: float
    recall_at_k: float


def filtered_rows(index: faiss.Index, data: np.ndarray, queries: np.ndarray,
                  k: int) -> list[Filtered]:
    """``search_vectors`` with random allowed rows: the worst case, as a document's own
    chunks at least sit near each other. Recall is against exact search over those rows."""
    import faiss
    import numpy as np

    from search.vectors import search_vectors

    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(3)
    results = []
    for size in (s for s in FILTERS if s < len(data)):
        allowed = np.sort(rng.choice(len(data), size, replace=False)).astype(np.int64)
        truth = allowed[np.argsort(-(queries[:FILTER_QUERIES] @ data[allowed].T), axis=1)]
        seconds, hits = [], 0
        for query, want in zip(queries[:FILTER_QUERIES], truth, strict=True):
            started = time.perf_counter()
            found = search_vectors(index, query, k, allowed)
            seconds.append(time.perf_counter() - started)
            hits += len(np.intersect1d([row for row, _ in found], want[:k]))
        results.append(Filtered(size, round(percentile_ms(seconds, 50), 3),
                                round(percentile_ms(seconds, 95), 3),
                                round(hits / (FILTER_QUERIES * min(k, size)), 4)))
    return results


def ivf_rows(data: np.ndarray, queries: np.ndarray, truth: np.ndarray, k: int, threads: int,
             exact_p95: float) -> tuple[list[Row], list[Filtered]]:
    from search.vectors import DEFAULT_NPROBE, build_vector_index

    log(f"IVF-Flat: training and adding {len(data):,} vectors")
    built = build(lambda: build_vector_index(data, approximate_from=0), threads)
    index: Any = built.index  # an IndexIVFFlat; its stub type is the base Index
    rows = []
    for nprobe in NPROBES:
        index.nprobe = nprobe
        rows.append(row("IVF-Flat", f"{index.nlist} lists, nprobe {nprobe}", built,
                        queries, truth, k, exact_p95))
    index.nprobe = DEFAULT_NPROBE
    log(f"IVF-Flat: filtered searches at nprobe {DEFAULT_NPROBE}")
    return rows, filtered_rows(index, data, queries, k)


def hnsw_rows(data: np.ndarray, queries: np.ndarray, truth: np.ndarray, k: int, threads: int,
              exact_p95: float) -> list[Row]:
    log(f"HNSW-Flat: inserting {len(data):,} vectors")
    built = build(lambda: hnsw(data), threads)
    index: Any = built.index
    rows = []
    for ef in EF_SEARCHES:
        index.hnsw.efSearch = ef
        rows.append(row("HNSW-Flat", f"M 32, efSearch {ef}", built, queries, truth, k,
                        exact_p95))
    return rows


@dataclass(frozen=True)
class Step:
    size: int
    p95_ms: float


def ladder(data: np.ndarray, queries: np.ndarray, exact: faiss.Index, k: int) -> list[Step]:
    """Exact search p95 on growing prefixes of the data (the full index for the last)."""
    steps = []
    for size in (s for s in LADDER if s <= len(data)):
        log(f"exact p95 at {size:,}")
        index = exact if size == len(data) else flat(data[:size])
        _, seconds = latencies(index, queries[:LADDER_QUERIES], k)
        steps.append(Step(size, round(percentile_ms(seconds, 95), 3)))
    return steps


def threshold(steps: list[Step], budget_ms: float) -> int | None:
    """The smallest size whose exact p95 is over budget: where approximate search pays."""
    return next((s.size for s in steps if s.p95_ms > budget_ms), None)


def crossing(steps: list[Step], budget_ms: float) -> int | None:
    """Where exact p95 meets the budget, interpolated: exact search is linear in n."""
    for low, high in pairwise(steps):
        if low.p95_ms <= budget_ms < high.p95_ms:
            fraction = (budget_ms - low.p95_ms) / (high.p95_ms - low.p95_ms)
            return int(round(low.size + fraction * (high.size - low.size), -3))
    return None


# --- running and reporting -----------------------------------------------------------------

STARTED = time.perf_counter()


def log(message: str) -> None:
    print(f"[{time.perf_counter() - STARTED:7.1f}s] {message}", file=sys.stderr, flush=True)


def profile(scores: np.ndarray, data: np.ndarray) -> dict[str, float]:
    """How neighbourly the synthetic data is, to compare with real embeddings."""
    import numpy as np

    half = min(len(data) // 2, 5_000)
    columns = {"top1": 0, "top10": 9, "top100": 99}
    found = {name: round(float(np.median(scores[:, c])), 3)
             for name, c in columns.items() if c < scores.shape[1]}
    pairs = np.einsum("nd,nd->n", data[:half], data[half:2 * half])
    return {**found, "unrelated_pair_mean": round(float(pairs.mean()), 3)}


def print_table(rows: list[Row], filtered: list[Filtered], steps: list[Step],
                budget_ms: float, k: int) -> None:
    print(f"\n{'index':<10}{'setting':<32}{'build s':>9}{'peak MB':>9}{'disk MB':>9}"
          f"{'p50 ms':>9}{'p95 ms':>9}{'R@10':>8}{f'R@{k}':>8}{'p95/exact':>11}")
    for r in rows:
        print(f"{r.name:<10}{r.setting:<32}{r.build_s:>9.2f}{r.peak_growth_mb:>9.0f}"
              f"{r.disk_mb:>9.0f}{r.p50_ms:>9.3f}{r.p95_ms:>9.3f}{r.recall_at_10:>8.4f}"
              f"{r.recall_at_k:>8.4f}{r.p95_vs_exact:>11.3f}")
    print(f"\nIVF-Flat through search_vectors, random allowed rows:\n"
          f"{'allowed':>11}{'p50 ms':>9}{'p95 ms':>9}{f'R@{k}':>8}")
    for f in filtered:
        print(f"{f.allowed:>11,}{f.p50_ms:>9.3f}{f.p95_ms:>9.3f}{f.recall_at_k:>8.4f}")
    print(f"\nexact p95 by size (budget {budget_ms:g} ms):")
    for step in steps:
        print(f"  {step.size:>9,}  {step.p95_ms:8.3f} ms"
              f"{'  over budget' if step.p95_ms > budget_ms else ''}")
    suggested, between = threshold(steps, budget_ms), crossing(steps, budget_ms)
    print("suggested approximate_from: "
          + (f"{suggested:,}" if suggested else f"none up to {steps[-1].size:,} (exact fits)")
          + (f" (the budget is crossed near {between:,})" if between else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="n = 200,000")
    parser.add_argument("--skip-hnsw", action="store_true", help="HNSW builds slowly")
    parser.add_argument("--budget-ms", type=float, default=10.0,
                        help="vector search's share of the 30 ms p95 target")
    parser.add_argument("--k", type=int, default=100,
                        help="rows per search; the product asks for its 100 candidates")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                        help="threads for builds (queries always use one)")
    args = parser.parse_args()
    n = 200_000 if args.quick else args.n
    import faiss

    log(f"drawing {n:,} + {QUERIES:,} vectors of dimension {DIMENSION}")
    space = make_distribution()
    data, queries = draw(space, n, seed=1), draw(space, QUERIES, seed=2)

    log("exact: building, ground truth, timing")
    exact = build(lambda: flat(data), args.threads)
    faiss.omp_set_num_threads(args.threads)
    scores, truth = exact.index.search(queries, args.k)  # batched, for the ground truth
    rows = [row("exact", "IndexFlatIP", exact, queries, truth, args.k)]
    exact_p95 = rows[0].p95_ms
    steps = ladder(data, queries, exact.index, args.k)
    del exact
    approximate, filtered = ivf_rows(data, queries, truth, args.k, args.threads, exact_p95)
    rows += approximate
    if not args.skip_hnsw:
        rows += hnsw_rows(data, queries, truth, args.k, args.threads, exact_p95)

    print(f"\n{n:,} vectors, d={DIMENSION}, {QUERIES:,} queries, k={args.k}; "
          f"queries on 1 thread, builds on {args.threads}; data profile "
          f"{profile(scores, data)}")
    print_table(rows, filtered, steps, args.budget_ms, args.k)
    path = machine.write("scale", {
        "build_threads": args.threads, "query_threads": 1, "n": n, "dimension": DIMENSION,
        "queries": QUERIES, "k": args.k, "budget_ms": args.budget_ms,
        "data_profile": profile(scores, data), "rows": [asdict(r) for r in rows],
        "filtered_ivf": [asdict(f) for f in filtered],
        "exact_ladder": [asdict(s) for s in steps],
        "suggested_approximate_from": threshold(steps, args.budget_ms),
        "budget_crossed_near": crossing(steps, args.budget_ms),
        "seconds": round(time.perf_counter() - STARTED, 1),
    })
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
