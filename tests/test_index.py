"""The index folder: round trip, atomic publish, refusals that say how to fix them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from search import index as store
from search.documents import Chunk, Document, Section, SentenceSpan
from search.errors import (
    IndexCorruptError,
    IndexLockedError,
    IndexMismatchError,
    IndexNotFoundError,
)
from search.index import reader

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
    return store.publish(folder, manifest(), [store.NewDocument(documents[0], chunks, [])],
                         unit(1, 0, 0, 0).reshape(1, -1))


def test_round_trip_keeps_provenance_and_vectors(tmp_path: Path) -> None:
    name = publish(tmp_path)
    snapshot = store.open_index(tmp_path)
    assert snapshot.manifest.generation == name
    assert snapshot.manifest.normalised and snapshot.manifest.metric == "inner_product"
    assert snapshot.chunks == sample()[1]
    assert snapshot.documents["page.md"] == sample()[0][0]
    scores, rows = snapshot.vectors.search(unit(1, 1, 0, 0).reshape(1, -1), 1)
    assert rows[0][0] == 0 and scores[0][0] == pytest.approx(0.7071, abs=1e-4)  # cosine
    assert np.allclose(snapshot.vectors.reconstruct(0), unit(1, 0, 0, 0))


def test_no_pickle_only_plain_files(tmp_path: Path) -> None:
    name = publish(tmp_path)
    assert [p.name for p in (tmp_path / name).iterdir()] == ["manifest.json"]
    manifest = json.loads((tmp_path / name / "manifest.json").read_text())
    assert manifest["schema_version"] == store.SCHEMA_VERSION == 6
    segment = tmp_path / store.SEGMENTS / manifest["segments"][0]
    assert sorted(p.name for p in segment.iterdir()) == [
        "chunks.jsonl", "documents.jsonl", "segment.json", "sentences.npy", "terms",
        "vectors.npy"]
    assert {p.suffix for p in (segment / "terms").iterdir()} <= {".json", ".npy"}
    np.load(segment / "vectors.npy", allow_pickle=False)


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
    del raw["checksum"]  # as an index of another version, written without one, would be
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


def test_a_damaged_or_missing_segment_is_reported_with_a_rebuild_hint(tmp_path: Path) -> None:
    publish(tmp_path)
    segment = tmp_path / store.SEGMENTS / store.read_manifest(tmp_path).segments[0]
    np.save(segment / "vectors.npy", np.zeros((0, DIMENSION), dtype=np.float32))
    with pytest.raises(IndexCorruptError, match=r"damaged.*Rebuild it: python ingest\.py"):
        store.open_index(tmp_path)
    shutil.rmtree(segment)
    with pytest.raises(IndexCorruptError, match=r"damaged.*Rebuild it"):
        store.open_index(tmp_path)


def test_a_bug_in_the_reader_is_not_reported_as_damage(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A TypeError while assembling an intact index is a bug: it must surface as one, not
    as "damaged, rebuild it", which a rebuild would never fix."""
    publish(tmp_path)

    def broken(record: dict[str, Any]) -> Chunk:
        raise TypeError("a bug")

    monkeypatch.setattr(reader, "chunk_from_json", broken)
    with pytest.raises(TypeError, match="a bug"):
        store.open_index(tmp_path)


def test_an_emptied_array_or_a_garbled_pointer_is_damage_not_a_traceback(tmp_path: Path) -> None:
    publish(tmp_path)
    segment = tmp_path / store.SEGMENTS / store.read_manifest(tmp_path).segments[0]
    (segment / "vectors.npy").write_bytes(b"")  # emptied to 0 bytes: np.load's EOFError
    with pytest.raises(IndexCorruptError, match=r"damaged.*vectors\.npy holds 0 bytes.*Rebuild"):
        store.open_index(tmp_path)
    publish(tmp_path)  # what the advised ingest does: a whole new generation
    assert store.open_index(tmp_path).chunks
    (tmp_path / store.POINTER).write_bytes(b"gen-\xff\xfe")  # a flipped byte
    with pytest.raises(IndexCorruptError, match=r"CURRENT pointer cannot be read.*Rebuild"):
        store.open_index(tmp_path)
    generations = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("gen-"))
    store.remove_old_generations(tmp_path, keep=0, grace_seconds=0)  # an ingest's clean-up
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("gen-")) == \
        generations, "with the pointer unreadable no generation is deleted"
    publish(tmp_path)
    assert store.open_index(tmp_path).chunks, "the next publish repairs the pointer"


def test_a_second_writer_is_refused_while_the_lock_is_held(tmp_path: Path) -> None:
    with (
        store.ingest_lock(tmp_path),
        pytest.raises(IndexLockedError, match="Another ingest"),
        store.ingest_lock(tmp_path),
    ):
        pass
    with store.ingest_lock(tmp_path):  # released afterwards
        pass


# --- segments: a re-ingest writes what changed, not the corpus ---------------------------

def page(name: str, *texts: str) -> store.NewDocument:
    """A document of one section per text, each text one chunk."""
    body, sections, chunks = "", [], []
    for number, text in enumerate(texts):
        heading = f"Part {number}"
        start = len(body) + len(heading) + 2
        body += f"{heading}\n\n{text}\n\n"
        section = Section(heading, 2, (name, heading), start - len(heading) - 2, start,
                          start + len(text), f"part-{number}")
        sections.append(section)
        chunks.append(Chunk(f"{name}#part-{number}", name, name, name, section.breadcrumb, text,
                            section.start, section.end, None, None, f"{name}:{text}"))
    document = Document(name, name, "md", name, body, tuple(sections), f"bytes of {body}", ())
    stored = store.StoredDocument(document, f"/abs/{name}", "/abs", "2026-01-01T00:00:00+00:00")
    sentences = [SentenceSpan(name, c.breadcrumb, c.start, c.end) for c in chunks]
    return store.NewDocument(stored, chunks, sentences)


def first_publish(folder: Path, documents: list[store.NewDocument], *,
                  with_sentences: bool = False, **options: object) -> str:
    fingerprints = {d.stored.document.doc_id: d.stored.document.fingerprint for d in documents}
    return store.publish(folder, manifest(documents=fingerprints, sentence_vectors=with_sentences),
                         documents, vectors_for(documents),
                         sentence_vectors=sentence_vectors_for(documents) if with_sentences
                         else None, **options)  # type: ignore[arg-type]


def vectors_for(documents: list[store.NewDocument]) -> np.ndarray:
    """A distinct unit vector per chunk text, so a served row can be checked by its text."""
    rows = []
    for document in documents:
        for chunk in document.chunks:
            seed = sum(map(ord, chunk.embedding_text))
            rows.append(np.random.default_rng(seed).normal(size=DIMENSION))
    return normalised(rows)


def sentence_vectors_for(documents: list[store.NewDocument]) -> np.ndarray:
    """Likewise per sentence, seeded apart from the chunks' vectors."""
    rows = [np.random.default_rng(sum(map(ord, s.embedding_text(d.stored.document.text))) + 7)
            .normal(size=DIMENSION) for d in documents for s in d.sentences]
    return normalised(rows)


def normalised(rows: list[np.ndarray]) -> np.ndarray:
    matrix = np.asarray(rows, dtype=np.float32).reshape(-1, DIMENSION)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def republish(folder: Path, changed: list[store.NewDocument], served: list[str], *,
              with_sentences: bool = False, **options: object) -> str:
    """Publish ``changed`` as new and keep every other served document in place."""
    previous = store.open_generation(folder)
    keep = [d for d in served if d not in {c.stored.document.doc_id for c in changed}]
    fingerprints = {**{d: previous.manifest.documents[d] for d in keep},
                    **{c.stored.document.doc_id: c.stored.document.fingerprint for c in changed}}
    return store.publish(folder, manifest(documents=fingerprints, sentence_vectors=with_sentences),
                         changed, vectors_for(changed),
                         sentence_vectors=sentence_vectors_for(changed) if with_sentences
                         else None, previous=previous, keep=keep,
                         **options)  # type: ignore[arg-type]


def served(folder: Path) -> dict[str, Any]:
    """What a reader gets: texts by document, vectors by text, what BM25 finds."""
    snapshot = store.open_index(folder)
    texts = {doc: [c.text for c in snapshot.chunks if c.doc_id == doc]
             for doc in snapshot.documents}
    vectors = {c.text: np.round(snapshot.vectors.reconstruct(row), 5).tolist()
               for row, c in enumerate(snapshot.chunks)}
    found = {snapshot.chunks[row].text
             for row, _ in snapshot.lexical.search("sleep walking light", 50)}
    quotable, sentence_vectors = {}, {}
    for doc, stored in snapshot.documents.items():
        positions = snapshot.sentences.of_document(doc)
        spans = [snapshot.sentences.span(p) for p in positions]
        assert all(s.doc_id == doc for s in spans)
        quotable[doc] = sorted((s.breadcrumb, stored.document.text[s.start:s.end]) for s in spans)
        stored_vectors = snapshot.sentences.vectors_of(positions)
        if stored_vectors is not None:
            sentence_vectors.update(
                (s.embedding_text(stored.document.text), np.round(v, 5).tolist())
                for s, v in zip(spans, stored_vectors, strict=True))
        last = snapshot.chunks[max(r for r, c in enumerate(snapshot.chunks) if c.doc_id == doc)]
        assert [snapshot.sentences.span(p).end
                for p in snapshot.sentences.within(doc, last.start, last.end)] == [last.end]
    return {"texts": texts, "vectors": vectors, "found": found, "quotable": quotable,
            "sentence_vectors": sentence_vectors,
            "counts": (snapshot.manifest.chunk_count, len(snapshot.chunks))}


def stamps(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in folder.rglob("*")}


BASE = [page("a.md", "Sleep therapy helps.", "Call the sleep clinic."),
        page("b.md", "Walking groups meet weekly.", "Bring water."),
        page("c.md", "Light therapy uses a lamp.", "Side effects are mild."),
        page("d.md", "Art therapy uses paint.", "No skill is needed."),
        page("e.md", "Music therapy uses songs.", "Sessions last an hour.")]
EVERY = [d.stored.document.doc_id for d in BASE]


def test_a_change_writes_one_small_segment_and_leaves_the_others_untouched(
    tmp_path: Path,
) -> None:
    first_publish(tmp_path, BASE)
    first = store.read_manifest(tmp_path).segments
    before = stamps(tmp_path / store.SEGMENTS / first[0])
    edited = page("b.md", "Walking groups meet daily.", "Bring water.")
    republish(tmp_path, [edited], EVERY)

    manifest_now = store.read_manifest(tmp_path)
    assert manifest_now.segments[0] == first[0] and len(manifest_now.segments) == 2
    assert manifest_now.placement == {**{d: first[0] for d in EVERY},
                                      "b.md": manifest_now.segments[1]}
    assert stamps(tmp_path / store.SEGMENTS / first[0]) == before, "it was rewritten"
    new_segment = tmp_path / store.SEGMENTS / manifest_now.segments[1]
    assert len(np.load(new_segment / "vectors.npy")) == 2  # only b.md's chunks

    fresh = tmp_path / "fresh"
    rebuilt = [BASE[0], edited, *BASE[2:]]
    first_publish(fresh, rebuilt)
    assert served(tmp_path) == served(fresh), "replaced rows must be invisible"
    assert "Walking groups meet weekly." not in served(tmp_path)["vectors"]


def test_removed_documents_disappear_and_counts_follow(tmp_path: Path) -> None:
    first_publish(tmp_path, BASE)
    republish(tmp_path, [], ["a.md", "c.md", "d.md", "e.md"])
    snapshot = store.open_index(tmp_path)
    assert set(snapshot.documents) == {"a.md", "c.md", "d.md", "e.md"}
    assert snapshot.manifest.chunk_count == len(snapshot.chunks) == 8
    assert {c.doc_id for c in snapshot.chunks} == {"a.md", "c.md", "d.md", "e.md"}


def test_many_edits_keep_few_segments_and_serve_the_same_as_a_fresh_build(
    tmp_path: Path,
) -> None:
    documents = {f"p{i}.md": page(f"p{i}.md", f"Page {i} about sleep.", f"Page {i} walking.")
                 for i in range(12)}
    first_publish(tmp_path, list(documents.values()))
    for edit in range(3 * store.MAX_SEGMENTS):
        name = f"p{edit % 3}.md"
        documents[name] = page(name, f"Page {edit} edit about light.", "Same second part.")
        republish(tmp_path, [documents[name]], list(documents))
        assert len(store.read_manifest(tmp_path).segments) <= store.MAX_SEGMENTS
    # Editing four of twelve pages again replaces a third of the first segment's rows.
    for i in range(3, 7):
        documents[f"p{i}.md"] = page(f"p{i}.md", f"Page {i} rewritten.", "Sleep well.")
    base = store.read_manifest(tmp_path).segments[0]
    republish(tmp_path, [documents[f"p{i}.md"] for i in range(3, 7)], list(documents))
    assert base not in store.read_manifest(tmp_path).segments, "a mostly replaced segment stays"

    fresh = tmp_path / "fresh"
    first_publish(fresh, list(documents.values()))
    mine, theirs = served(tmp_path), served(fresh)
    assert mine["vectors"] == theirs["vectors"] and mine["found"] == theirs["found"]
    assert mine["quotable"] == theirs["quotable"]
    assert {d: sorted(t) for d, t in mine["texts"].items()} == \
        {d: sorted(t) for d, t in theirs["texts"].items()}


def test_segments_no_generation_lists_are_removed(tmp_path: Path) -> None:
    first_publish(tmp_path, BASE)
    first = store.read_manifest(tmp_path).segments[0]
    republish(tmp_path, [page(d.stored.document.doc_id, "All new.") for d in BASE],
              EVERY)
    crashed = tmp_path / store.SEGMENTS / f"{store.TEMP_PREFIX}seg-crashed"
    crashed.mkdir()
    orphan = tmp_path / store.SEGMENTS / "seg-written-but-never-published"
    orphan.mkdir()
    store.remove_old_generations(tmp_path, keep=2, grace_seconds=0)
    assert (tmp_path / store.SEGMENTS / first).exists(), "the previous generation still uses it"
    assert not crashed.exists() and not orphan.exists()
    republish(tmp_path, [page("a.md", "Newer.")], EVERY)
    store.remove_old_generations(tmp_path, keep=2, grace_seconds=0)
    assert not (tmp_path / store.SEGMENTS / first).exists()
    assert len(served(tmp_path)["texts"]) == len(EVERY)


def test_the_approximate_index_is_stored_with_the_generation(tmp_path: Path) -> None:
    first_publish(tmp_path, BASE, approximate_from=6)
    generation = tmp_path / store.read_manifest(tmp_path).generation
    assert (generation / "vectors.faiss").exists()
    assert store.read_manifest(tmp_path).vector_index.startswith("IVF-Flat")
    republish(tmp_path, [], ["a.md", "b.md"], approximate_from=6)  # 4 chunks: exact again
    generation = tmp_path / store.read_manifest(tmp_path).generation
    assert not (generation / "vectors.faiss").exists()
    assert store.open_index(tmp_path).manifest.vector_index == "exact (IndexFlatIP)"


# --- sentence vectors kept at ingest (Settings.embed_sentences_at_ingest) ------------------

def test_sentence_vectors_follow_their_sentences_through_edits_and_merges(
    tmp_path: Path,
) -> None:
    documents = {f"p{i}.md": page(f"p{i}.md", f"Page {i} about sleep.", f"Page {i} walking.")
                 for i in range(6)}
    first_publish(tmp_path, list(documents.values()), with_sentences=True)
    for edit in range(2 * store.MAX_SEGMENTS):  # enough edits to force merges
        name = f"p{edit % 4}.md"
        documents[name] = page(name, f"Page {edit} edit about light.", "Same second part.")
        republish(tmp_path, [documents[name]], list(documents), with_sentences=True)
    snapshot = store.open_index(tmp_path)
    assert snapshot.manifest.sentence_vectors
    segments = [tmp_path / store.SEGMENTS / name for name in snapshot.manifest.segments]
    assert all((folder / "sentence_vectors.npy").exists() for folder in segments)

    fresh = tmp_path / "fresh"
    first_publish(fresh, list(documents.values()), with_sentences=True)
    mine, theirs = served(tmp_path), served(fresh)
    assert len(mine["sentence_vectors"]) == len(snapshot.sentences) == 12
    assert mine["sentence_vectors"] == theirs["sentence_vectors"]
    expected = sentence_vectors_for(list(documents.values()))
    assert sorted(map(tuple, np.round(expected, 5).tolist())) == \
        sorted(map(tuple, mine["sentence_vectors"].values()))


def test_without_sentence_vectors_none_are_written_or_served(tmp_path: Path) -> None:
    first_publish(tmp_path, BASE)
    snapshot = store.open_index(tmp_path)
    assert not snapshot.manifest.sentence_vectors
    assert snapshot.sentences.vectors_of([0, 1]) is None
    segment = tmp_path / store.SEGMENTS / snapshot.manifest.segments[0]
    assert not (segment / "sentence_vectors.npy").exists()


def test_publish_refuses_sentence_vectors_that_do_not_match(tmp_path: Path) -> None:
    fingerprints = {d.stored.document.doc_id: d.stored.document.fingerprint for d in BASE}
    vectors = sentence_vectors_for(BASE)
    for wanted, given in ((True, None), (True, vectors[:-1]), (False, vectors)):
        with pytest.raises(ValueError, match="sentence vectors"):
            store.publish(tmp_path, manifest(documents=fingerprints, sentence_vectors=wanted),
                          BASE, vectors_for(BASE), sentence_vectors=given)
    assert store.current_generation(tmp_path) is None, "nothing was published"


def test_a_segment_missing_its_sentence_vectors_is_reported_as_damaged(tmp_path: Path) -> None:
    first_publish(tmp_path, BASE, with_sentences=True)
    segment = tmp_path / store.SEGMENTS / store.read_manifest(tmp_path).segments[0]
    (segment / "sentence_vectors.npy").unlink()
    with pytest.raises(IndexCorruptError, match=r"python ingest\.py"):
        store.open_generation(tmp_path).verify()
    with pytest.raises(IndexCorruptError, match=r"python ingest\.py"):
        store.open_index(tmp_path)
