"""The index folder: round trip, atomic publish, refusals that say how to fix them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from search import index as store
from search.documents import Chunk, Document, Section
from search.errors import (
    IndexCorruptError,
    IndexLockedError,
    IndexMismatchError,
    IndexNotFoundError,
)

DIMENSION = 4


def unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def sample(text: str = "Call 0808 157 0990.") -> tuple[list[store.StoredDocument], list[Chunk]]:
    section = Section("What to do next", 2, ("Page", "What to do next"), 0, 16, 16 + len(text),
                      "what-to-do-next")
    document = Document("page.md", "page.md", "md", "Page", f"What to do next\n\n{text}",
                        (section,), "fingerprint", ())
    chunk = Chunk("page.md#what-to-do-next-1", "page.md", "page.md", "Page", section.breadcrumb,
                  text, section.start, section.end, None, None, "hash")
    stored = store.StoredDocument(document, "/abs/page.md", "/abs", "2026-01-01T00:00:00+00:00")
    return [stored], [chunk]


def manifest(**changes: object) -> store.Manifest:
    fields: dict[str, object] = {"model": "all-MiniLM-L6-v2", "dimension": DIMENSION,
                                 "chunking": {"max_tokens": 200}, "documents": {"page.md": "f"},
                                 "chunk_count": 1}
    fields.update(changes)
    return store.Manifest(**fields)  # type: ignore[arg-type]


def publish(folder: Path, text: str = "Call 0808 157 0990.") -> str:
    documents, chunks = sample(text)
    return store.publish(folder, manifest(), documents, chunks, unit(1, 0, 0, 0).reshape(1, -1))


def test_round_trip_keeps_provenance_and_vectors(tmp_path: Path) -> None:
    name = publish(tmp_path)
    snapshot = store.open_index(tmp_path)
    assert snapshot.manifest.generation == name
    assert snapshot.manifest.normalised and snapshot.manifest.metric == "inner_product"
    assert snapshot.chunks == sample()[1]
    assert snapshot.documents["page.md"] == sample()[0][0]
    scores, rows = snapshot.vectors.search(unit(1, 1, 0, 0).reshape(1, -1), 1)
    assert rows[0][0] == 0 and scores[0][0] == pytest.approx(0.7071, abs=1e-4)  # cosine
    assert np.allclose(snapshot.chunk_vectors(), unit(1, 0, 0, 0))


def test_no_pickle_only_plain_files(tmp_path: Path) -> None:
    name = publish(tmp_path)
    files = sorted(p.name for p in (tmp_path / name).iterdir())
    assert files == ["chunks.jsonl", "documents.jsonl", "lexical", "manifest.json",
                     "sentences.jsonl", "vectors.faiss"]
    lexical_files = {p.suffix for p in (tmp_path / name / "lexical").iterdir()}
    assert lexical_files == {".json", ".npy"}
    assert json.loads((tmp_path / name / "manifest.json").read_text())["schema_version"] == 3


def test_a_missing_index_says_how_to_build_one(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError, match=r"python ingest\.py"):
        store.open_index(tmp_path / "nowhere")


def test_a_new_generation_replaces_the_old_through_the_pointer(tmp_path: Path) -> None:
    first = publish(tmp_path, "Old number 0808 157 0111.")
    second = publish(tmp_path, "New number 0808 157 0222.")
    assert first != second
    assert (tmp_path / "CURRENT").read_text() == second
    assert "0222" in store.open_index(tmp_path).chunks[0].text
    assert (tmp_path / first).is_dir(), "the previous generation stays for open readers"


def test_debris_of_a_crashed_publish_never_shadows_the_served_index(tmp_path: Path) -> None:
    served = publish(tmp_path)
    debris = tmp_path / f"{store.TEMP_PREFIX}gen-crashed"
    debris.mkdir()
    (debris / "chunks.jsonl").write_text("{half a line")
    (tmp_path / "CURRENT.tmp").write_text("gen-crashed")
    assert store.open_index(tmp_path).manifest.generation == served
    store.remove_old_generations(tmp_path)
    assert not debris.exists() and not (tmp_path / "CURRENT.tmp").exists()
    assert store.open_index(tmp_path).manifest.generation == served


def test_old_generations_are_removed_only_after_the_grace_period(tmp_path: Path) -> None:
    names = [publish(tmp_path, f"Version {i}.") for i in range(4)]
    store.remove_old_generations(tmp_path, keep=2, grace_seconds=3600)
    assert all((tmp_path / n).exists() for n in names)
    store.remove_old_generations(tmp_path, keep=2, grace_seconds=0)
    assert [n for n in names if (tmp_path / n).exists()] == names[2:]


def test_another_schema_is_refused_with_a_rebuild_hint(tmp_path: Path) -> None:
    name = publish(tmp_path)
    path = tmp_path / name / "manifest.json"
    raw = json.loads(path.read_text())
    raw["schema_version"] = 99
    path.write_text(json.dumps(raw))
    with pytest.raises(IndexMismatchError, match=r"schema version 99.*Rebuild"):
        store.open_index(tmp_path)


@pytest.mark.parametrize(("model", "dimension"), [("other-model", None),
                                                  ("all-MiniLM-L6-v2", 768)])
def test_another_model_or_dimension_is_refused(tmp_path: Path, model: str,
                                               dimension: int | None) -> None:
    with pytest.raises(IndexMismatchError, match=r"built with model 'all-MiniLM-L6-v2'.*ingest"):
        store.check_model(manifest(), tmp_path, model, dimension)
    store.check_model(manifest(), tmp_path, "all-MiniLM-L6-v2", DIMENSION)  # same: fine


def test_vectors_that_disagree_with_the_chunks_are_reported(tmp_path: Path) -> None:
    name = publish(tmp_path)
    with (tmp_path / name / "chunks.jsonl").open("a") as handle:
        handle.write((tmp_path / name / "chunks.jsonl").read_text())
    with pytest.raises(IndexCorruptError, match=r"1 vectors .* for 2 chunks"):
        store.open_index(tmp_path)


def test_a_second_writer_is_refused_while_the_lock_is_held(tmp_path: Path) -> None:
    with (
        store.ingest_lock(tmp_path),
        pytest.raises(IndexLockedError, match="Another ingest"),
        store.ingest_lock(tmp_path),
    ):
        pass
    with store.ingest_lock(tmp_path):  # released afterwards
        pass
