"""The vector structure: exact below the threshold, IVF-Flat above it, same contract for both."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest

from search import vectors
from search.vectors import build_vector_index, describe, is_approximate, search_vectors

DIMENSION = 32
THRESHOLD = 2_000
COUNT = 5_000


def clustered(count: int, seed: int, centres: np.ndarray) -> np.ndarray:
    """Unit vectors around shared centres: neighbours exist, unlike uniform random ones."""
    rng = np.random.default_rng(seed)
    points = centres[rng.integers(len(centres), size=count)]
    points = points + rng.normal(0, 0.6 / np.sqrt(DIMENSION), (count, DIMENSION))
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    return points.astype(np.float32)


@pytest.fixture(scope="module")
def space() -> tuple[np.ndarray, np.ndarray]:
    """(stored vectors, fresh queries drawn the same way)."""
    centres = np.random.default_rng(0).normal(size=(60, DIMENSION))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    return clustered(COUNT, 1, centres), clustered(200, 2, centres)


@pytest.fixture(scope="module")
def exact(space: tuple[np.ndarray, np.ndarray]) -> faiss.Index:
    return build_vector_index(space[0], approximate_from=COUNT + 1)


@pytest.fixture(scope="module")
def approximate(space: tuple[np.ndarray, np.ndarray]) -> faiss.Index:
    return build_vector_index(space[0], approximate_from=THRESHOLD)


def rows(hits: list[tuple[int, float]]) -> list[int]:
    return [row for row, _ in hits]


def test_exact_below_the_threshold(space: tuple[np.ndarray, np.ndarray]) -> None:
    index = build_vector_index(space[0][: THRESHOLD - 1], approximate_from=THRESHOLD)
    assert isinstance(index, faiss.IndexFlatIP)
    assert not is_approximate(index)
    assert describe(index) == "exact (IndexFlatIP)"
    assert index.ntotal == THRESHOLD - 1


def test_ivf_at_the_threshold(space: tuple[np.ndarray, np.ndarray]) -> None:
    index = build_vector_index(space[0][:THRESHOLD], approximate_from=THRESHOLD, nprobe=7)
    assert isinstance(index, faiss.IndexIVFFlat)
    assert is_approximate(index)
    assert index.metric_type == faiss.METRIC_INNER_PRODUCT
    assert index.ntotal == THRESHOLD and index.nprobe == 7
    assert describe(index) == f"IVF-Flat, {vectors.list_count(THRESHOLD)} lists, nprobe 7"


def test_nprobe_defaults_and_never_exceeds_the_lists(
        space: tuple[np.ndarray, np.ndarray], approximate: faiss.Index) -> None:
    assert approximate.nprobe == vectors.DEFAULT_NPROBE
    few = build_vector_index(space[0][:400], approximate_from=1, nprobe=1_000)
    assert few.nprobe == few.nlist == vectors.list_count(400)


def test_list_count_grows_with_the_square_root_and_keeps_training_points() -> None:
    assert vectors.list_count(1_000_000) == 4_000
    assert vectors.list_count(200_000) == 1_789
    assert vectors.list_count(2_000) == 2_000 // vectors.MIN_POINTS_PER_LIST
    assert vectors.list_count(10) == 1


def test_approximate_recall_at_10_against_exact(
        space: tuple[np.ndarray, np.ndarray], exact: faiss.Index,
        approximate: faiss.Index) -> None:
    found = truth = 0
    for query in space[1]:
        want = set(rows(search_vectors(exact, query, 10)))
        found += len(want & set(rows(search_vectors(approximate, query, 10))))
        truth += len(want)
    assert found / truth >= 0.9


def test_scores_are_cosines_best_first(space: tuple[np.ndarray, np.ndarray],
                                       approximate: faiss.Index) -> None:
    stored, queries = space
    hits = search_vectors(approximate, queries[0], 10)
    assert len(hits) == 10
    for row, score in hits:
        assert score == pytest.approx(float(stored[row] @ queries[0]), abs=1e-5)
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)


@pytest.mark.parametrize("row_cost", [10**9, 0], ids=["selector", "exact-subset"])
@pytest.mark.parametrize("kind", ["exact", "approximate"])
def test_allowed_rows_only(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
                           space: tuple[np.ndarray, np.ndarray], kind: str,
                           row_cost: int) -> None:
    monkeypatch.setattr(vectors, "SUBSET_ROW_COST", row_cost)
    index = request.getfixturevalue(kind)
    allowed = np.arange(0, COUNT, 3, dtype=np.int64)
    stored = space[0][allowed]
    found = 0
    for query in space[1][:20]:
        hits = search_vectors(index, query, 10, allowed)
        assert len(hits) == 10
        assert set(rows(hits)) <= set(allowed.tolist())
        best = allowed[np.argsort(-(stored @ query))[:10]]
        found += len(set(rows(hits)) & set(best.tolist()))
    assert found / (20 * 10) >= 0.9  # the filter must not cost the index its nprobe


@pytest.mark.parametrize("row_cost", [10**9, 0], ids=["selector", "exact-subset"])
def test_a_few_allowed_rows_are_all_found_by_ivf(monkeypatch: pytest.MonkeyPatch,
                                                 space: tuple[np.ndarray, np.ndarray],
                                                 exact: faiss.Index, approximate: faiss.Index,
                                                 row_cost: int) -> None:
    """A filter to one document: IVF at its own nprobe would miss most of its rows."""
    monkeypatch.setattr(vectors, "SUBSET_ROW_COST", row_cost)
    allowed = np.random.default_rng(3).choice(COUNT, 40, replace=False).astype(np.int64)
    for query in space[1][:20]:
        want = search_vectors(exact, query, 50, allowed)
        got = search_vectors(approximate, query, 50, allowed)
        assert len(got) == 40
        assert rows(got) == rows(want)
        assert [s for _, s in got] == pytest.approx([s for _, s in want], abs=1e-5)


@pytest.mark.parametrize("row_cost", [10**9, 0], ids=["selector", "exact-subset"])
@pytest.mark.parametrize("kind", ["exact", "approximate"])
def test_repeated_or_unknown_allowed_rows_are_not_padded(
        request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
        space: tuple[np.ndarray, np.ndarray], kind: str, row_cost: int) -> None:
    monkeypatch.setattr(vectors, "SUBSET_ROW_COST", row_cost)
    index = request.getfixturevalue(kind)
    allowed = np.array([5, 5, 9, -1, COUNT + 3], dtype=np.int64)
    assert sorted(rows(search_vectors(index, space[1][0], 10, allowed))) == [5, 9]


def test_empty_allowed_rows_find_nothing(approximate: faiss.Index, exact: faiss.Index,
                                         space: tuple[np.ndarray, np.ndarray]) -> None:
    none = np.array([], dtype=np.int64)
    assert search_vectors(approximate, space[1][0], 10, none) == []
    assert search_vectors(exact, space[1][0], 10, none) == []


@pytest.mark.parametrize("kind", ["exact", "approximate"])
def test_reconstruct_returns_the_stored_vectors(request: pytest.FixtureRequest,
                                                space: tuple[np.ndarray, np.ndarray],
                                                kind: str) -> None:
    index = request.getfixturevalue(kind)
    stored = space[0]
    np.testing.assert_array_equal(index.reconstruct(1234), stored[1234])
    np.testing.assert_array_equal(index.reconstruct_n(0, index.ntotal), stored)


def test_round_trip_keeps_nprobe_and_results(tmp_path: Path,
                                             space: tuple[np.ndarray, np.ndarray]) -> None:
    index = build_vector_index(space[0], approximate_from=THRESHOLD, nprobe=5)
    faiss.write_index(index, str(tmp_path / "vectors.faiss"))
    read = faiss.read_index(str(tmp_path / "vectors.faiss"))
    assert isinstance(read, faiss.IndexIVFFlat)
    assert read.nprobe == 5
    assert describe(read) == describe(index)
    np.testing.assert_array_equal(read.reconstruct(7), space[0][7])
    for query in space[1][:20]:
        assert search_vectors(read, query, 10) == search_vectors(index, query, 10)


def test_building_twice_gives_the_same_index(space: tuple[np.ndarray, np.ndarray],
                                             approximate: faiss.Index) -> None:
    again = build_vector_index(space[0], approximate_from=THRESHOLD)
    for query in space[1][:20]:
        assert rows(search_vectors(again, query, 10)) == rows(
            search_vectors(approximate, query, 10))


@pytest.mark.parametrize("approximate_from", [0, 10])
def test_empty_input_gives_an_empty_exact_index(approximate_from: int) -> None:
    index = build_vector_index(np.zeros((0, 8), dtype=np.float32), approximate_from)
    assert isinstance(index, faiss.IndexFlatIP)
    assert (index.d, index.ntotal) == (8, 0)
    query = np.ones(8, dtype=np.float32)
    assert search_vectors(index, query, 10) == []
    assert search_vectors(index, query, 10, np.array([0, 1], dtype=np.int64)) == []


def test_k_beyond_the_index_and_either_query_shape(space: tuple[np.ndarray, np.ndarray]) -> None:
    index = build_vector_index(space[0][:5], approximate_from=THRESHOLD)
    query = space[1][0]
    hits = search_vectors(index, query, 10)
    assert sorted(rows(hits)) == [0, 1, 2, 3, 4]
    assert search_vectors(index, query.reshape(1, -1), 10) == hits
    assert search_vectors(index, query, 0) == []
