"""Property tests: chunk spans for any text; any query string is answered or refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search import ChunkSettings, QueryError, open_index
from search.answer import Answerer
from search.chunking import chunk_document
from search.loaders.text import text_blocks
from search.retrieval import Searcher
from search.structure import build_document

LINE = st.one_of(
    st.text(min_size=0, max_size=120),
    st.sampled_from(["What is it?", "How long does it take?", "- a list item", "1. first",
                     "Call 0808 157 0999.", "Dr. Smith, e.g. this one. And more!", ""]),
)
TEXT = st.lists(LINE, min_size=0, max_size=40).map(lambda lines: "\n".join(lines))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXT, max_tokens=st.integers(40, 256), overlap=st.integers(0, 19))
def test_chunk_spans_are_exact_ordered_and_cover_the_text(token_counter, text: str,  # type: ignore[no-untyped-def]
                                                          max_tokens: int, overlap: int) -> None:
    document = build_document(text_blocks(text), doc_id="p.txt", source="p.txt", format="txt",
                              fingerprint="f", fallback_title="P")
    chunks = chunk_document(document, token_counter, ChunkSettings(max_tokens, overlap))
    body = document.text
    covered = [False] * len(body)
    for section in document.sections:  # heading lines travel in the breadcrumb instead
        for i in range(section.heading_start, section.start):
            covered[i] = True
    previous_start = -1
    for chunk in chunks:
        assert 0 <= chunk.start < chunk.end <= len(body)
        assert body[chunk.start:chunk.end] == chunk.text
        assert chunk.start > previous_start or chunk.breadcrumb != chunks[0].breadcrumb
        previous_start = chunk.start
        for i in range(chunk.start, chunk.end):
            covered[i] = True
    missing = [body[i] for i in range(len(body)) if not covered[i] and not body[i].isspace()]
    assert not missing, f"text outside every chunk: {''.join(missing)[:80]!r}"


@pytest.fixture(scope="module")
def searcher(good_index: Path, embedder) -> Searcher:  # type: ignore[no-untyped-def]
    folder: Path = good_index
    return Searcher(open_index(folder), embedder)


QUERIES = st.one_of(
    st.text(max_size=300),
    st.just(""), st.just("   \t\n "), st.just("x" * 10_000),
    st.text(alphabet=st.characters(categories=["Cc", "Cs", "Zs"]), max_size=50),
    st.text(alphabet="日本語 عربي русский ελληνικά 😀 ", max_size=80),
)


@pytest.mark.model
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(query=QUERIES)
def test_any_query_gets_results_or_a_clear_refusal(searcher: Searcher, query: str) -> None:
    empty = not "".join(ch for ch in query if ch.isprintable() and not ch.isspace())
    try:
        answer = Answerer(searcher).ask(query)
    except QueryError as error:
        # Only a question with nothing in it is refused, and the refusal says what to do.
        assert empty and "type a question" in str(error), (query, str(error))
    else:
        if answer.answered:  # every quote is the served text at its span
            assert answer.citations
            for citation in answer.citations:
                text = searcher.snapshot.documents[citation.doc_id].document.text
                assert text[citation.start:citation.end] == citation.quote
        else:
            assert answer.reason and not answer.citations
    for mode in ("dense", "lexical", "hybrid"):
        try:
            hits = searcher.search(query, 5, mode=mode)
        except QueryError as error:
            assert empty and "type a question" in str(error), (query, str(error))
            continue
        assert len(hits) <= 5
        assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
