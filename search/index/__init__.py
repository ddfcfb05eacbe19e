"""Owns the index folder: manifest, segments, generations, atomic publish.

Modules: ``records`` (names, dataclasses, JSON and checksums), ``manifest`` (the
pointer and manifest), ``reader`` (segments, generations, ``open_index``), ``writer``
(``publish``) and ``folder`` (the ingest lock and clean-up). Import from here.

Layout (plain files, no pickle)::

    INDEX/
      CURRENT                  name of the served generation; switched with os.replace
      .ingest.lock             held by the one ingest allowed to write at a time
      segments/seg-<time>-<id>/
                               one immutable run of documents, shared by every generation
                               that lists it; written once, never changed
        segment.json           its documents in order, with their chunk and sentence rows
        documents.jsonl        one loaded document per line: text, sections, pages
        chunks.jsonl           one chunk per line, with provenance
        vectors.npy            the chunks' normalised float32 vectors, in the same order
        sentences.npy          quotable sentences: int64 [start, end) in their document's
                               text (embedded when an answer needs them, not at ingest)
        sentence_vectors.npy   only with Settings.embed_sentences_at_ingest: the
                               sentences' float32 vectors, in the same order
        terms/                 the chunks' stemmed term counts, for BM25
      gen-<time>-<id>/         one complete, immutable generation
        manifest.json          schema, model, dimension, chunking, fingerprints, counts, and
                               which segment serves each document
        vectors.faiss          only from Settings.approximate_from chunks: the trained
                               IVF-Flat index over every served vector; below that, the
                               exact IndexFlatIP is assembled from the segments on open

A re-ingest writes one new segment for what changed and a manifest that moves the
changed documents' rows to it, so its cost follows the change, not the corpus (MedQuAD,
one page changed: 11.3 s when every generation was written whole). BM25 statistics are
computed over the served rows when a generation is opened. Segments with many replaced
rows, or too many small segments, are merged into the new one as it is written.

Segments and generations are written under a ``.tmp-`` name, fsynced, renamed, and
only then does CURRENT point at the new generation, so a crash at any moment leaves the
served generation whole.
"""

from search.index.folder import (
    ingest_lock,
    remove_old_generations,
    remove_unpublished,
)
from search.index.manifest import (
    check_model,
    current_generation,
    read_manifest,
)
from search.index.reader import Generation, Segment, open_generation, open_index
from search.index.records import (
    MAX_SEGMENTS,
    POINTER,
    SCHEMA_VERSION,
    SEGMENTS,
    TEMP_PREFIX,
    IndexSnapshot,
    Manifest,
    NewDocument,
    SentenceStore,
    StoredDocument,
)
from search.index.writer import publish

__all__ = [
    "MAX_SEGMENTS", "POINTER", "SCHEMA_VERSION", "SEGMENTS", "TEMP_PREFIX", "Generation",
    "IndexSnapshot", "Manifest", "NewDocument", "Segment", "SentenceStore", "StoredDocument",
    "check_model", "current_generation", "ingest_lock", "open_generation", "open_index",
    "publish", "read_manifest", "remove_old_generations", "remove_unpublished",
]
