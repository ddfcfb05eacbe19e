"""The served index (``search.serving``): one answerer per published generation per
process, a new generation picked up without a restart, derived values worked out once."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from search import Settings, build_index
from search.errors import IndexNotFoundError
from search.serving import ServedIndex

pytestmark = pytest.mark.model


def test_a_new_generation_is_served_beside_the_old_one(good_corpus: Path, tmp_path: Path,
                                                       embedder) -> None:  # type: ignore[no-untyped-def]
    index = tmp_path / "index"
    build_index([good_corpus], index, embedder=embedder)
    served = ServedIndex(index, Settings(), keep=2)
    first = served.answerer()
    assert served.answerer() is first and served.opened == 1

    (good_corpus / "walking-group.txt").write_text(
        "Walking group\n\nHow long does the walking group last?\n\nThe walking group now "
        "lasts twelve weeks.\n", encoding="utf-8")
    build_index([good_corpus], index, embedder=embedder)
    second = served.answerer()
    assert second is not first and served.opened == 2
    assert "twelve weeks" in second.ask("how long does the walking group last").answer
    # A request that started on the old generation finishes on it, whole.
    assert "eight weeks" in first.ask("how long does the walking group last").answer


def test_derived_values_are_worked_out_once_per_generation(good_index: Path) -> None:
    served = ServedIndex(good_index, Settings())
    answerer = served.answerer()
    calls: list[str] = []

    def slow(current):  # type: ignore[no-untyped-def]
        calls.append(current.searcher.generation)
        time.sleep(0.3)  # the other sessions arrive while it is being worked out
        return len(current.searcher.snapshot.documents)

    results: list[int] = []
    workers = [threading.Thread(target=lambda: results.append(
        served.derived(answerer, "documents", slow))) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert results == [5, 5, 5, 5]
    assert calls == [answerer.searcher.generation]  # four sessions, one computation
    assert served.derived(answerer, "other", lambda a: 1) == 1
    assert len(calls) == 1


def test_an_empty_folder_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError, match="ingest"):
        ServedIndex(tmp_path / "nothing").answerer()


def test_prepare_works_a_value_out_in_the_background_once(good_index: Path) -> None:
    served = ServedIndex(good_index, Settings())
    answerer = served.answerer()
    calls: list[str] = []

    def slow(current):  # type: ignore[no-untyped-def]
        calls.append(current.searcher.generation)
        time.sleep(0.3)
        return "matrix"

    served.prepare(answerer, "coverage", slow)
    served.prepare(answerer, "coverage", slow)  # a second session: nothing more started
    assert not served.ready(answerer, "coverage")  # still being worked out
    # Someone opening the page meanwhile waits for that result instead of redoing it.
    assert served.derived(answerer, "coverage", slow) == "matrix"
    assert served.ready(answerer, "coverage") and calls == [answerer.searcher.generation]
