"""Chunks follow sections, fit the model's window, overlap, and keep exact spans."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest

from search import ChunkSettings, Settings, load_document
from search.chunking import chunk_document
from search.config import DEFAULT_MAX_SEQ_TOKENS
from search.documents import BREADCRUMB_SEPARATOR
from search.structure import Block, build_document

from .conftest import DATA

SETTINGS = ChunkSettings()


def long_document(sentences: int = 60):  # type: ignore[no-untyped-def]
    body = " ".join(f"Sentence number {i} explains one more detail of the therapy plan."
                    for i in range(sentences))
    blocks = [Block("heading", "Long page", 1), Block("heading", "How does it work?", 2),
              Block("paragraph", body), Block("heading", "What to do next", 2),
              Block("paragraph", "Call 0808 157 0990 to book.")]
    return build_document(blocks, doc_id="long.md", source="long.md", format="md",
                          fingerprint="f", fallback_title="Long")


@pytest.mark.parametrize("name", sorted(p.name for p in (DATA / "good").iterdir()))
def test_every_chunk_is_an_exact_span_inside_one_section(name: str, token_counter) -> None:  # type: ignore[no-untyped-def]
    path = DATA / "good" / name
    document = load_document(path, name, Settings())
    chunks = chunk_document(document, token_counter, SETTINGS)
    assert chunks
    for chunk in chunks:
        assert document.text[chunk.start:chunk.end] == chunk.text
        owners = [s for s in document.sections if s.start <= chunk.start and chunk.end <= s.end]
        assert len(owners) == 1, f"{chunk.chunk_id} spans sections"
        assert chunk.breadcrumb == owners[0].breadcrumb
        assert chunk.title == document.title


def test_chunks_fit_the_token_budget_and_the_model_window(token_counter) -> None:  # type: ignore[no-untyped-def]
    chunks = chunk_document(long_document(), token_counter, SETTINGS)
    assert len(chunks) > 3
    for chunk in chunks:
        tokens = token_counter.count(chunk.embedding_text)
        assert tokens <= SETTINGS.max_tokens <= DEFAULT_MAX_SEQ_TOKENS


def test_consecutive_chunks_overlap_by_whole_sentences(token_counter) -> None:  # type: ignore[no-untyped-def]
    chunks = [c for c in chunk_document(long_document(), token_counter, SETTINGS)
              if c.breadcrumb[-1] == "How does it work?"]
    for before, after in pairwise(chunks):
        assert after.start < before.end, "no overlap"
        assert after.text.startswith("Sentence number"), "overlap cut a sentence"
        assert token_counter.count(before.text[after.start - before.start:]) - 2 <= \
            SETTINGS.overlap_tokens


def test_no_overlap_when_switched_off(token_counter) -> None:  # type: ignore[no-untyped-def]
    chunks = chunk_document(long_document(), token_counter, ChunkSettings(overlap_tokens=0))
    spans = [(c.start, c.end) for c in chunks]
    assert all(a[1] <= b[0] for a, b in pairwise(spans))


def test_a_sentence_longer_than_the_budget_is_cut_at_token_boundaries(token_counter) -> None:  # type: ignore[no-untyped-def]
    run_on = " ".join(["therapy"] * 700)
    blocks = [Block("heading", "Run-on", 1), Block("paragraph", run_on)]
    document = build_document(blocks, doc_id="r.md", source="r.md", format="md",
                              fingerprint="f", fallback_title="R")
    chunks = chunk_document(document, token_counter, SETTINGS)
    assert len(chunks) >= 3
    assert all(token_counter.count(c.embedding_text) <= SETTINGS.max_tokens for c in chunks)
    assert all(c.text.startswith("therapy") and c.text.endswith("therapy") for c in chunks)


def test_ids_are_readable_unique_and_stable(token_counter) -> None:  # type: ignore[no-untyped-def]
    first = chunk_document(long_document(), token_counter, SETTINGS)
    second = chunk_document(long_document(), token_counter, SETTINGS)
    ids = [c.chunk_id for c in first]
    assert ids == [c.chunk_id for c in second]
    assert len(set(ids)) == len(ids)
    assert ids[0] == "long.md#how-does-it-work-1"
    assert ids[-1] == "long.md#what-to-do-next-1"
    assert [c.content_hash for c in first] == [c.content_hash for c in second]


def test_the_breadcrumb_is_embedded_with_the_text(token_counter) -> None:  # type: ignore[no-untyped-def]
    chunk = chunk_document(long_document(), token_counter, SETTINGS)[-1]
    assert chunk.breadcrumb_text == f"Long page{BREADCRUMB_SEPARATOR}What to do next"
    assert chunk.embedding_text == f"{chunk.breadcrumb_text}\n{chunk.text}"


def test_pdf_chunks_carry_their_page(token_counter, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = DATA / "good" / "nature-therapy.pdf"
    chunks = chunk_document(load_document(path, path.name, Settings()), token_counter, SETTINGS)
    pages = {c.breadcrumb[-1]: (c.page, c.page_end) for c in chunks}
    assert pages["How do I get referred?"] == (2, 2)
    assert pages["What is nature therapy?"] == (1, 1)


def test_the_tokenizer_counts_real_word_pieces(token_counter) -> None:  # type: ignore[no-untyped-def]
    # The bundled tokenizer.json pads to 128: a naive counter says 128 for everything.
    assert token_counter.count("hello") == 3
    assert token_counter.count("word " * 300) == 302


def test_a_line_with_no_spaces_is_cut_to_the_budget_not_served_whole(token_counter) -> None:  # type: ignore[no-untyped-def]
    # WordPiece counts any "word" over 100 characters as one [UNK]: 5 MB would be 1 token.
    from search.chunking import MAX_QUOTE_CHARS, quotable_sentences

    blob = "ab3" * 1_000_000
    document = build_document([Block("heading", "Blob", 1), Block("heading", "Part", 2),
                               Block("paragraph", blob),
                               Block("paragraph", "Ring 0800 123 456 to book.")],
                              doc_id="blob.md", source="blob.md", format="markdown",
                              fingerprint="f", fallback_title="Blob")
    chunks = chunk_document(document, token_counter, ChunkSettings())
    assert len(chunks) > 100 and max(len(c.text) for c in chunks) <= 2_000
    assert all(document.text[c.start:c.end] == c.text for c in chunks)
    assert "".join(c.text for c in chunks if c.text != "Ring 0800 123 456 to book.") \
        .replace("\n", "").startswith(blob[:5_000])
    quotes = [document.text[s.start:s.end] for s in quotable_sentences(document)]
    assert quotes == ["Ring 0800 123 456 to book."]  # the blob is no sentence to quote
    assert all(len(q) <= MAX_QUOTE_CHARS for q in quotes)


def test_counting_a_section_at_once_counts_as_one_at_a_time(token_counter) -> None:  # type: ignore[no-untyped-def]
    texts = ["How long does CBT take?", "", "Unbelievably long-winded antidisestablishment.",
             "x" * 5_000, "Ring 0808 157 0420 (Mon–Fri, 8am–8pm)."]
    assert token_counter.count_many(texts) == [token_counter.count(t) for t in texts]
