"""Owns the FAISS structure over chunk vectors: exact while small, IVF-Flat past a threshold.

Vectors are L2-normalised float32, so cosine similarity is the inner product: both kinds
use the inner-product metric. Rows are chunk positions; both kinds keep ``reconstruct``
working (IVF through a direct map), so callers never need to know which one they hold.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    import faiss
    import numpy as np

#: Lists probed per query. bench/scale.py, clustered synthetic vectors, one thread, k=100:
#:   100k (1,265 lists): nprobe 8/16/32/64 → recall@10 0.77/0.95/0.987/0.994, p95 0.3–1.3 ms
#:   200k (1,789 lists): nprobe 8/16/32/64 → recall@10 0.71/0.90/0.985/0.994, p95 0.4–1.9 ms
#: against exact's p95 of 17 and 35 ms. Recall at a fixed nprobe falls as the lists
#: multiply with n (16 lost 0.05 from 100k to 200k; 1M has 4,000 lists), and real
#: embeddings are less tidy than synthetic ones: 64 buys that margin for ~1 ms over 32,
#: far inside the 10 ms left to vector search.
DEFAULT_NPROBE = 64
#: Training sample per list: k-means wants ≥ 39 points per centroid (FAISS warns below),
#: and training time grows linearly with the sample.
TRAIN_POINTS_PER_LIST = 64
MIN_POINTS_PER_LIST = 39
MAX_LISTS = 65_536
TRAIN_SEED = 1234
#: Scoring one allowed row exactly (read back at random, ~0.2–1 µs) costs about what a
#: filtered IVF scan pays to step over this many stored rows (~10–30 ns each, measured at
#: 100k). A filter keeping fewer than ntotal / this rows is scored exactly: cheaper, and
#: complete where IVF at a small nprobe finds few of them.
SUBSET_ROW_COST = 32


def build_vector_index(vectors: np.ndarray, approximate_from: int,
                       nprobe: int = DEFAULT_NPROBE) -> faiss.Index:
    """An exact IndexFlatIP below ``approximate_from`` vectors, IVF-Flat at or above it."""
    import faiss
    import numpy as np

    data = np.ascontiguousarray(vectors, dtype=np.float32)
    count, dimension = len(data), int(data.shape[1])
    if count == 0 or count < approximate_from:
        flat = faiss.IndexFlatIP(dimension)  # inner product on unit vectors = cosine
        if count:
            flat.add(data)
        return flat
    lists = list_count(count)
    # The Python wrapper keeps the coarse quantizer alive as long as the index.
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dimension), dimension, lists,
                               faiss.METRIC_INNER_PRODUCT)
    index.train(_training_sample(data, lists * TRAIN_POINTS_PER_LIST))
    index.add(data)
    index.make_direct_map()  # keeps reconstruct(row) and reconstruct_n working
    index.nprobe = min(nprobe, lists)  # an index attribute, so write_index saves it
    return index


def list_count(count: int) -> int:
    """IVF lists for ``count`` vectors: about 4·√n, with enough points to train each."""
    return max(1, min(round(4 * math.sqrt(count)), count // MIN_POINTS_PER_LIST, MAX_LISTS))


def _training_sample(data: np.ndarray, size: int) -> np.ndarray:
    """A fixed-seed sample, so that building twice from the same vectors gives one index."""
    import numpy as np

    if size >= len(data):
        return data
    rows = np.random.default_rng(TRAIN_SEED).choice(len(data), size, replace=False)
    return data[np.sort(rows)]


def search_vectors(index: faiss.Index, query: np.ndarray, k: int,
                   allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
    """The best ``k`` (row, score) pairs for one query, best first, within ``allowed`` rows."""
    import numpy as np

    vector = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
    count = min(k, index.ntotal)
    if allowed is not None:
        allowed = np.asarray(allowed, dtype=np.int64)
        allowed = allowed[(allowed >= 0) & (allowed < index.ntotal)]
        count = min(count, len(allowed))
    if count <= 0:
        return []
    if (allowed is not None and is_approximate(index)
            and len(allowed) * SUBSET_ROW_COST <= index.ntotal):
        return _search_subset(index, vector, count, allowed)
    params = None if allowed is None else _filter(index, allowed)
    scores, rows = index.search(vector, count, params=params)
    # Rows of -1 pad results when fewer rows qualify than were asked for.
    return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]


def _filter(index: faiss.Index, allowed: np.ndarray) -> faiss.SearchParameters:
    """Search parameters that keep only ``allowed`` rows (in range, non-empty)."""
    import faiss
    import numpy as np

    mask = np.zeros(index.ntotal, dtype=bool)
    mask[allowed] = True
    # A bitmap answers "allowed?" in one lookup; IDSelectorBatch hashes, which costs
    # ~7 ms more per query at 20k allowed rows, as IVF asks for every row it passes.
    bits = np.packbits(mask, bitorder="little")
    selector = faiss.IDSelectorBitmap(bits)  # type: ignore[call-arg, arg-type]
    if not isinstance(index, faiss.IndexIVF):
        return faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
    # IVF scores only rows inside the lists it probes: keeping 1/x of the rows needs x
    # times the lists to meet as many of them (5k of 100k allowed, unscaled: recall 0.58).
    # nprobe must be passed anyway, or SearchParametersIVF's default of 1 replaces it.
    share = len(allowed) / index.ntotal
    nprobe = min(index.nlist, max(index.nprobe, math.ceil(index.nprobe / share)))
    return faiss.SearchParametersIVF(sel=selector, nprobe=nprobe)  # type: ignore[call-arg]


def similarities(index: faiss.Index, query: np.ndarray,
                 rows: Sequence[int] | np.ndarray) -> np.ndarray:
    """Exact scores (cosine: the vectors are normalised) of ``query`` with the vectors of
    ``rows``, in their order, read back through the index's direct map."""
    import numpy as np

    wanted = np.asarray(rows, dtype=np.int64)
    if not len(wanted):
        return np.zeros(0, dtype=np.float32)
    vector = np.ascontiguousarray(query, dtype=np.float32).reshape(-1)
    # einsum, not @: numpy's BLAS keeps its own thread pool, which the product does not
    # pin, and under load it made this 25x slower (4.8 ms for 2,000 rows).
    return np.einsum("nd,d->n", index.reconstruct_batch(wanted), vector)


def _search_subset(index: faiss.Index, vector: np.ndarray, count: int,
                   allowed: np.ndarray) -> list[tuple[int, float]]:
    """Exact scores over a few allowed rows."""
    import numpy as np

    rows = np.unique(allowed)
    scores = similarities(index, vector, rows)
    best = np.lexsort((rows, -scores))[:count]  # ties go to the lower row, as in FAISS
    return [(int(rows[i]), float(scores[i])) for i in best]


def is_approximate(index: faiss.Index) -> bool:
    import faiss

    return not isinstance(index, faiss.IndexFlat)


def describe(index: faiss.Index) -> str:
    """One line for status displays: "exact (IndexFlatIP)", "IVF-Flat, 2048 lists, nprobe 32"."""
    import faiss

    if not is_approximate(index):
        return f"exact ({type(index).__name__})"
    if isinstance(index, faiss.IndexIVFFlat):
        return f"IVF-Flat, {index.nlist} lists, nprobe {index.nprobe}"
    return f"approximate ({type(index).__name__})"
