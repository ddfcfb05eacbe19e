"""Ingest with the real model: reports, incremental re-embedding, failures kept apart."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from search import Settings, build_index, open_index
from search.retrieval import Searcher

from .conftest import DATA

pytestmark = pytest.mark.model


class CountingPlainEmbedder:
    """The real model without span pooling (a model that cannot pool), counting texts."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner = inner
        self.name, self.dimension = inner.name, inner.dimension
        self.max_seq_tokens = inner.max_seq_tokens
        self.embedded = 0

    def embed_documents(self, texts, progress=None):  # type: ignore[no-untyped-def]
        self.embedded += len(texts)
        return self.inner.embed_documents(texts, progress)

    def embed_query(self, text):  # type: ignore[no-untyped-def]
        return self.inner.embed_query(text)


class CountingEmbedder(CountingPlainEmbedder):
    """The real model, pooling as the ONNX and torch backends do, counting texts."""

    def embed_with_spans(self, texts, spans, progress=None):  # type: ignore[no-untyped-def]
        self.embedded += len(texts)
        return self.inner.embed_with_spans(texts, spans, progress)


def test_first_ingest_adds_every_good_file(good_corpus: Path, tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    counting = CountingEmbedder(embedder)
    report = build_index([good_corpus], tmp_path / "index", embedder=counting)
    assert report.exit_code == 0 and report.published
    assert sorted(report.added) == sorted(p.name for p in good_corpus.iterdir())
    assert report.chunks == report.chunks_embedded > 0
    # one pass over the chunks: every sentence's vector is pooled from its chunk's
    assert counting.embedded == report.chunks_embedded
    assert report.sentences_pooled == report.sentences > 0 and report.sentences_embedded == 0
    snapshot = open_index(tmp_path / "index")
    assert set(snapshot.documents) == set(report.added)
    assert snapshot.manifest.model == "all-MiniLM-L6-v2" and snapshot.manifest.dimension == 384


def test_reingest_embeds_only_what_changed(good_corpus: Path, tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    index = tmp_path / "index"
    first = build_index([good_corpus], index, embedder=embedder)

    counting = CountingEmbedder(embedder)
    same = build_index([good_corpus], index, embedder=counting)
    assert (same.published, counting.embedded, same.exit_code) == (False, 0, 0)
    assert sorted(same.unchanged) == sorted(first.added)
    assert (same.chunks, same.sentences) == (first.chunks, first.sentences)

    page = good_corpus / "sleep-therapy.md"
    page.write_text(page.read_text().replace("15 working days", "5 working days"))
    (good_corpus / "walking-group.txt").unlink()
    changed = build_index([good_corpus], index, embedder=counting)
    assert changed.updated == ["sleep-therapy.md"]
    assert changed.removed == ["walking-group.txt"]
    # Only the edited section's chunk is embedded again.
    assert changed.chunks_embedded == counting.embedded == 1

    searcher = Searcher(open_index(index), embedder)
    hits = searcher.search("how long is the wait for a first sleep appointment", k=20)
    assert all(h.chunk.doc_id != "walking-group.txt" for h in hits)
    referral = next(h.chunk for h in hits if h.chunk.breadcrumb[-1] == "How do I get referred?")
    assert "within 5 working days" in referral.text


def test_bad_files_are_reported_and_skipped(good_corpus: Path, tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    for bad in (DATA / "bad").iterdir():
        shutil.copy(bad, good_corpus / bad.name)
    report = build_index([good_corpus], tmp_path / "index", embedder=embedder)
    assert report.exit_code == 2 and report.published
    reasons = {f.source: f.reason for f in report.failed}
    assert reasons == {
        "empty.md": "empty", "junk.txt": "binary", "half-utf16.txt": "undecodable",
        "broken.pdf": "pdf-broken", "encrypted.pdf": "pdf-encrypted",
        "scanned.pdf": "pdf-no-text",
    }
    assert set(open_index(tmp_path / "index").documents) == {
        p.name for p in (DATA / "good").iterdir()
    }


def test_a_file_that_breaks_later_keeps_its_last_good_version(
    good_corpus: Path, tmp_path: Path, embedder  # type: ignore[no-untyped-def]
) -> None:
    index = tmp_path / "index"
    build_index([good_corpus], index, embedder=embedder)
    (good_corpus / "walking-group.txt").write_bytes(b"\x00\x01binary now")
    report = build_index([good_corpus], index, embedder=embedder)
    assert [(f.source, f.reason, f.kept_previous) for f in report.failed] == [
        ("walking-group.txt", "binary", True)
    ]
    assert "walking-group.txt" in open_index(index).documents


def test_nothing_to_publish_is_exit_status_one(tmp_path: Path) -> None:
    report = build_index([DATA / "bad"], tmp_path / "index")
    assert report.exit_code == 1 and not report.published
    assert len(report.failed) == len(list((DATA / "bad").iterdir()))
    empty = tmp_path / "nothing"
    empty.mkdir()
    assert build_index([empty], tmp_path / "index").error.startswith("no supported files")


def test_folder_notes_are_not_ingested(good_corpus: Path, tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    (good_corpus / "README.md").write_text("# About this folder\n\nNot a treatment page.\n")
    report = build_index([good_corpus], tmp_path / "index", Settings(), embedder=embedder)
    assert "README.md" not in report.added


def test_past_the_threshold_the_index_is_approximate_and_answers_alike(  # type: ignore[no-untyped-def]
        good_corpus: Path, tmp_path: Path, embedder) -> None:
    from search.retrieval import Filters

    exact = build_index([good_corpus], tmp_path / "exact", embedder=embedder)
    approximate = build_index([good_corpus], tmp_path / "ivf", Settings(approximate_from=2),
                              embedder=embedder)
    assert exact.chunks == approximate.chunks > 2
    assert open_index(tmp_path / "exact").manifest.vector_index == "exact (IndexFlatIP)"
    assert open_index(tmp_path / "ivf").manifest.vector_index.startswith("IVF-Flat")
    searchers = [Searcher(open_index(tmp_path / name), embedder) for name in ("exact", "ivf")]
    query = "how long is the wait for a first sleep appointment"
    exact_hits, ivf_hits = (s.search(query, k=5, mode="dense") for s in searchers)
    assert [h.chunk.chunk_id for h in ivf_hits] == [h.chunk.chunk_id for h in exact_hits]
    only = Filters(frozenset({"walking-group.txt"}), ())
    filtered = searchers[1].search(query, k=5, mode="dense", filters=only)
    assert filtered and {h.chunk.doc_id for h in filtered} == {"walking-group.txt"}


def test_an_unchanged_folder_with_a_failing_file_is_settled_from_the_manifest(  # type: ignore[no-untyped-def]
        good_corpus: Path, tmp_path: Path, embedder, monkeypatch: pytest.MonkeyPatch) -> None:
    from search import index as store

    copy = good_corpus / "zz-copy.md"  # MedQuAD repeats pages word for word
    copy.write_bytes((good_corpus / "sleep-therapy.md").read_bytes())
    first = build_index([good_corpus], tmp_path / "index", embedder=embedder)
    assert first.exit_code == 2 and [f.reason for f in first.failed] == ["duplicate"]

    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("a re-ingest with nothing changed opened the index")

    monkeypatch.setattr(store, "open_generation", refuse)
    again = build_index([good_corpus], tmp_path / "index", embedder=embedder)
    assert not again.published and again.exit_code == 2
    assert again.failed == first.failed
    assert sorted(again.unchanged) == sorted(first.added)
    assert (again.chunks, again.sentences) == (first.chunks, first.sentences)

    copy.write_text("A page of its own now.\n")  # the failing file changed: the full way
    with pytest.raises(AssertionError, match="opened the index"):
        build_index([good_corpus], tmp_path / "index", embedder=embedder)


def test_a_served_page_that_becomes_a_copy_of_another_is_served_once(  # type: ignore[no-untyped-def]
        good_corpus: Path, tmp_path: Path, embedder) -> None:
    # "zz" served first; then "aa" arrives with the same bytes and, coming first, is kept.
    index = tmp_path / "index"
    (good_corpus / "zz-sleep.md").write_bytes((good_corpus / "sleep-therapy.md").read_bytes())
    (good_corpus / "sleep-therapy.md").unlink()
    build_index([good_corpus], index, embedder=embedder)
    (good_corpus / "aa-sleep.md").write_bytes((good_corpus / "zz-sleep.md").read_bytes())
    report = build_index([good_corpus], index, embedder=embedder)
    assert [(f.source, f.reason, f.kept_previous) for f in report.failed] == [
        ("zz-sleep.md", "duplicate", False)]
    served = set(open_index(index).documents)
    assert "aa-sleep.md" in served and "zz-sleep.md" not in served, "one copy, not both"


def test_a_changed_page_is_written_alone_and_served_as_a_fresh_build_would(  # type: ignore[no-untyped-def]
        good_corpus: Path, tmp_path: Path, embedder) -> None:
    from search import index as store

    index = tmp_path / "index"
    build_index([good_corpus], index, embedder=embedder)
    first = store.read_manifest(index).segments
    page = good_corpus / "sleep-therapy.md"
    page.write_text(page.read_text().replace("0808 157 0999", "0808 157 0111"))
    report = build_index([good_corpus], index, embedder=embedder)
    assert report.updated == ["sleep-therapy.md"] and report.chunks_embedded == 1

    manifest = store.read_manifest(index)
    assert manifest.segments == [*first, manifest.placement["sleep-therapy.md"]]
    assert {d for d, s in manifest.placement.items() if s != first[0]} == {"sleep-therapy.md"}
    fresh = build_index([good_corpus], tmp_path / "fresh", embedder=embedder)
    assert (report.chunks, report.sentences) == (fresh.chunks, fresh.sentences)
    ours, theirs = (Searcher(open_index(f), embedder) for f in (index, tmp_path / "fresh"))
    for query in ("sleep clinic phone number", "walking group", "light therapy side effects"):
        assert [(h.chunk.chunk_id, round(h.score, 4)) for h in ours.search(query, k=5)] == \
            [(h.chunk.chunk_id, round(h.score, 4)) for h in theirs.search(query, k=5)]


def test_a_damaged_segment_is_rebuilt_by_the_next_ingest(  # type: ignore[no-untyped-def]
        good_corpus: Path, tmp_path: Path, embedder) -> None:
    from search import index as store
    from search.errors import IndexCorruptError

    index = tmp_path / "index"
    first = build_index([good_corpus], index, embedder=embedder)
    segment = index / store.SEGMENTS / store.read_manifest(index).segments[0]
    (segment / "chunks.jsonl").write_text("{half a line")
    with pytest.raises(IndexCorruptError, match=r"Rebuild it: python ingest\.py"):
        open_index(index)
    page = good_corpus / "sleep-therapy.md"
    page.write_text(page.read_text().replace("0808 157 0999", "0808 157 0111"))
    report = build_index([good_corpus], index, embedder=embedder)  # the command it names
    assert report.published and report.exit_code == 0
    assert report.chunks_embedded == report.chunks == first.chunks  # afresh, nothing lost
    hits = Searcher(open_index(index), embedder).search("sleep clinic phone number", k=3)
    assert any("0808 157 0111" in h.chunk.text for h in hits)


def test_a_cut_short_segment_file_is_noticed_even_when_nothing_changed(  # type: ignore[no-untyped-def]
        good_corpus: Path, tmp_path: Path, embedder) -> None:
    from search import index as store

    index = tmp_path / "index"
    first = build_index([good_corpus], index, embedder=embedder)
    segment = index / store.SEGMENTS / store.read_manifest(index).segments[0]
    documents = segment / "documents.jsonl"
    documents.write_bytes(documents.read_bytes()[:-100])  # no ingest reads it back
    report = build_index([good_corpus], index, embedder=embedder)
    assert report.published and report.chunks_embedded == first.chunks
    assert set(open_index(index).documents) == set(first.added)


QUESTIONS = ("how long does the walking group last and how often does it meet",
             "what number do I ring to join a walking group",
             "how do I get referred to nature therapy, who do I call",
             "what are the side effects of light therapy",
             "where can I park my car at the hospital on a weekend")


def sentence_vectors(index: Path) -> dict[str, np.ndarray]:
    """An index's stored sentence vectors by the text the model saw."""
    snapshot = open_index(index)
    positions = range(len(snapshot.sentences))
    spans = [snapshot.sentences.span(p) for p in positions]
    vectors = snapshot.sentences.vectors_of(positions)
    assert vectors is not None
    return {s.embedding_text(snapshot.documents[s.doc_id].document.text): v
            for s, v in zip(spans, vectors, strict=True)}


def test_pooled_sentence_vectors_mean_their_sentence_and_spare_every_ask(  # type: ignore[no-untyped-def]
        good_corpus: Path, tmp_path: Path, embedder) -> None:
    from search.answer import Answerer

    plain, kept = tmp_path / "plain", tmp_path / "kept"
    build_index([good_corpus], plain, Settings(embed_sentences_at_ingest=False),
                embedder=embedder)
    build_index([good_corpus], kept, Settings(embed_sentences_at_ingest=False),
                embedder=embedder)
    counting = CountingEmbedder(embedder)
    switched = build_index([good_corpus], kept, embedder=counting)
    assert switched.published, "switching the setting rebuilds the index"
    assert counting.embedded == switched.chunks, "one pass over the chunks, no second"
    assert switched.sentences_pooled == switched.sentences > switched.chunks

    # Each pooled vector stands for its own sentence, not for its chunk as a whole: it is
    # nearest to the vector of that sentence embedded alone.
    pooled = sentence_vectors(kept)
    texts = list(pooled)
    alone = embedder.embed_documents(texts)
    nearest = (np.vstack([pooled[t] for t in texts]) @ alone.T).argmax(axis=1)
    assert (nearest == np.arange(len(texts))).mean() >= 0.8

    counting, counting_plain = CountingEmbedder(embedder), CountingEmbedder(embedder)
    ours = Answerer(Searcher(open_index(kept), counting))
    theirs = Answerer(Searcher(open_index(plain), counting_plain))
    for answerer in (ours, theirs):
        answerer.ask("hello")  # the first ask embeds the approved questions once
    counting.embedded = counting_plain.embedded = 0
    for question in QUESTIONS[:3]:
        mine, expected = ours.ask(question), theirs.ask(question)
        assert mine.answered == expected.answered, question
        assert mine.citations[0].breadcrumb_text == expected.citations[0].breadcrumb_text, question
    assert counting.embedded == 0, "no sentence is embedded when asking"
    assert counting_plain.embedded > 0, "without them, answers embed their sentences"

    page = good_corpus / "walking-group.txt"
    page.write_text(page.read_text().replace("once a week for eight", "twice a week for six"))
    counting = CountingEmbedder(embedder)
    edited = build_index([good_corpus], kept, embedder=counting)
    assert edited.updated == ["walking-group.txt"]
    assert (edited.chunks_embedded, counting.embedded, edited.sentences_embedded) == (1, 1, 0), \
        "only the edited chunk"
    build_index([good_corpus], tmp_path / "fresh", embedder=embedder)
    mine, expected_vectors = (sentence_vectors(f) for f in (kept, tmp_path / "fresh"))
    assert mine.keys() == expected_vectors.keys()
    assert all(np.allclose(mine[t], expected_vectors[t], atol=1e-5) for t in mine)
    assert build_index([good_corpus], kept, Settings(embed_sentences_at_ingest=False),
                       embedder=embedder).published, "switching back rebuilds too"
    assert open_index(kept).sentences.vectors_of([0]) is None


def test_without_pooling_stored_sentences_answer_as_embedding_them_later_does(  # type: ignore[no-untyped-def]
        good_corpus: Path, tmp_path: Path, embedder) -> None:
    from search.answer import Answerer

    plain, kept = tmp_path / "plain", tmp_path / "kept"
    build_index([good_corpus], plain, Settings(embed_sentences_at_ingest=False),
                embedder=embedder)
    counting = CountingPlainEmbedder(embedder)  # a model that cannot pool
    report = build_index([good_corpus], kept, embedder=counting)
    assert (report.chunks_embedded, report.sentences_embedded, report.sentences_pooled) == \
        (report.chunks, report.sentences, 0)
    assert counting.embedded == report.chunks + report.sentences
    ours = Answerer(Searcher(open_index(kept), embedder))
    theirs = Answerer(Searcher(open_index(plain), embedder))
    for question in QUESTIONS:
        mine, expected = ours.ask(question), theirs.ask(question)
        assert (mine.answered, mine.answer) == (expected.answered, expected.answer), question
        assert mine.confidence == pytest.approx(expected.confidence, abs=1e-5)


def test_a_full_disk_leaves_the_served_index_and_no_debris(  # type: ignore[no-untyped-def]
        good_corpus: Path, tmp_path: Path, embedder, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from search.errors import IndexWriteError

    index = tmp_path / "index"
    first = build_index([good_corpus], index, embedder=embedder)
    page = good_corpus / "sleep-therapy.md"
    page.write_text(page.read_text().replace("15 working days", "5 working days"))
    real_save = np.save

    def full(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if "sentences.npy" in str(path):  # the disk fills half-way through a segment
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(path, *args, **kwargs)

    monkeypatch.setattr(np, "save", full)  # search.index imports numpy where it writes
    with pytest.raises(IndexWriteError, match=r"No space left on device.*Nothing was changed"):
        build_index([good_corpus], index, embedder=embedder)
    monkeypatch.undo()
    assert not [p for p in index.rglob(".tmp-*")], "no half-written segment left behind"
    assert open_index(index).manifest.generation == first.generation
    again = build_index([good_corpus], index, embedder=embedder)
    assert again.published and again.updated == ["sleep-therapy.md"]
