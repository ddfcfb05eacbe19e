"""The embedding stage of an ingest: vectors for the new documents' chunks and quotable
sentences, reusing every vector whose text a changed document still has."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from search import index
from search.config import Settings
from search.embedding import Embedder, SpanEmbedder, load_embedder
from search.failpoints import pause_point

if TYPE_CHECKING:
    import numpy as np

@dataclass(frozen=True)
class EmbeddingJob:
    """What the stage needs: the new documents, the generation they replace, which of them
    are updates (their unchanged text keeps its vectors), and the model's known shape."""

    settings: Settings
    new: Sequence[index.NewDocument]
    previous: index.Generation | None
    updated: Sequence[str]
    #: Called with ("embed", done, total) as work advances.
    progress: Callable[[str, int, int], None] | None
    dimension: int
    max_seq_tokens: int


@dataclass(frozen=True)
class EmbeddedChunks:
    chunk_vectors: np.ndarray
    sentence_vectors: np.ndarray | None
    dimension: int
    max_seq_tokens: int
    chunks_embedded: int
    sentences_embedded: int
    sentences_pooled: int


def embed_new_documents(job: EmbeddingJob, embedder: Embedder | None) -> EmbeddedChunks:
    """Vectors for the new documents' chunks, and for their quotable sentences when
    the settings ask for them at ingest (the default). A sentence's vector is pooled
    from the token states of the chunk that holds it, in the chunk's own forward pass
    (``SpanEmbedder``), so it costs no second pass; a sentence no chunk holds whole,
    or one for a model that cannot pool (not mean-pooled), is embedded on its own. A
    changed document keeps the vector of every chunk and sentence whose text it still
    has, so only new text is embedded."""
    import numpy as np

    dimension, max_seq_tokens = job.dimension, job.max_seq_tokens
    counts = (0, 0, 0)
    reusable: dict[str, np.ndarray] = {}
    if job.previous is not None:
        for doc_id in job.updated:
            chunks, vectors = job.previous.chunks_and_vectors(doc_id)
            reusable.update(zip((c.content_hash for c in chunks), vectors, strict=True))
    new_chunks = [chunk for document in job.new for chunk in document.chunks]
    texts: dict[str, str] = {}
    for chunk in new_chunks:
        if chunk.content_hash not in reusable:
            texts[chunk.content_hash] = chunk.embedding_text
    wanted = job.settings.embed_sentences_at_ingest
    sentence_texts = [span.embedding_text(document.stored.document.text)
                      for document in job.new for span in document.sentences] if wanted else []
    known: dict[str, np.ndarray] = {}
    if sentence_texts and job.previous is not None:
        for doc_id in job.updated:
            known.update(zip(*job.previous.sentences_and_vectors(doc_id), strict=True))
    if texts or any(t not in known for t in sentence_texts) or not dimension:
        embedder = embedder or load_ingest_embedder(job.settings)
        max_seq_tokens, dimension = embedder.max_seq_tokens, embedder.dimension
        pools = isinstance(embedder, SpanEmbedder) and bool(
            getattr(embedder, "pools_spans", True))
        spans = _sentence_spans(job.new, texts) if wanted and pools else {}
        done, total = 0, len(texts)

        def advance(count: int) -> None:
            nonlocal done
            done += count
            if job.progress:
                job.progress("embed", done, total)
            pause_point("embed")

        hashes = list(texts)
        pooled_count = 0
        if spans:
            assert isinstance(embedder, SpanEmbedder)
            fresh, pooled = embedder.embed_with_spans(
                list(texts.values()), [[span for _, span in spans.get(h, ())]
                                       for h in hashes], advance)
            for h, vectors in zip(hashes, pooled, strict=True):
                for (text, _), vector in zip(spans.get(h, ()), vectors, strict=True):
                    if np.isfinite(vector).all():  # else cut off: embedded on its own
                        known[text] = vector  # in its chunk as it is now
                        pooled_count += 1
                    else:
                        known.pop(text, None)
        else:
            fresh = embedder.embed_documents(list(texts.values()), advance)
        reusable.update(zip(hashes, fresh, strict=True))
        rest = list(dict.fromkeys(t for t in sentence_texts if t not in known))
        if rest:  # embedded on their own: no chunk held them whole, or no pooling
            total += len(rest)
            known.update(zip(rest, embedder.embed_documents(rest, advance), strict=True))
        counts = (len(texts), len(rest), pooled_count)
    sentence_vectors = None
    if wanted:
        sentence_vectors = np.zeros((len(sentence_texts), dimension), dtype=np.float32)
        for row, text in enumerate(sentence_texts):
            sentence_vectors[row] = known[text]
    chunk_vectors = (np.vstack([reusable[c.content_hash] for c in new_chunks]).astype(
        np.float32) if new_chunks else np.zeros((0, dimension), dtype=np.float32))
    return EmbeddedChunks(chunk_vectors, sentence_vectors, dimension, max_seq_tokens, *counts)

def _sentence_spans(new: Sequence[index.NewDocument], texts: dict[str, str]
                    ) -> dict[str, list[tuple[str, tuple[int, int]]]]:
    """For each chunk text to embed (by content hash): the sentences it holds whole,
    as (sentence embedding text, character span in the chunk's embedding text). Each
    sentence is pooled from the first chunk holding it; one in a chunk that is kept
    as it was keeps its vector, whose context has not changed."""
    spans: dict[str, list[tuple[str, tuple[int, int]]]] = {}
    placed: set[str] = set()
    for document in new:
        text = document.stored.document.text
        for sentence in document.sentences:
            key = sentence.embedding_text(text)
            if key in placed:
                continue
            chunk = next((c for c in document.chunks
                          if c.start <= sentence.start and sentence.end <= c.end), None)
            if chunk is None or chunk.content_hash not in texts:
                continue  # held by no chunk whole, or by one kept as it was
            offset = len(chunk.breadcrumb_text) + 1 - chunk.start  # "breadcrumb\ntext"
            spans.setdefault(chunk.content_hash, []).append(
                (key, (sentence.start + offset, sentence.end + offset)))
            placed.add(key)
    return spans


def load_ingest_embedder(settings: Settings) -> Embedder:
    """The ingest's model, with both cores."""
    from search.embedding import set_threads

    embedder = load_embedder(settings.model, settings.batch_size, backend=settings.backend,
                             threads=settings.ingest_threads, cache=settings.model_cache,
                             batch_work=True)
    set_threads(settings.ingest_threads)
    return embedder
