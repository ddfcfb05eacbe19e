"""Owns the index folder: manifest, vectors, chunk and document stores, atomic publish.

Layout (plain files, no pickle)::

    INDEX/
      CURRENT                  name of the served generation; switched with os.replace
      .ingest.lock             held by the one ingest allowed to write at a time
      gen-<time>-<id>/         one complete, immutable generation
        manifest.json          schema, model, dimension, chunking, fingerprints, counts
        vectors.faiss          normalised float32 vectors (cosine = inner product): exact
                               IndexFlatIP, or IVF-Flat from Settings.approximate_from
        chunks.jsonl           one chunk per line, in vector order, with provenance
        documents.jsonl        one loaded document per line: text, sections, pages
        lexical/               BM25 arrays and vocabulary (bm25s), over the same chunks
        sentences.jsonl        quotable sentences: [doc_id, start, end, content hash]
                               (embedded when an answer needs them, not at ingest)

A generation is written under a ``.tmp-`` name, fsynced, renamed, and only then does
CURRENT point at it, so a crash at any moment leaves the served generation whole.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
import uuid
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from search import lexical
from search.config import DEFAULT_APPROXIMATE_FROM
from search.documents import Chunk, Document, Section, SentenceSpan
from search.errors import (
    IndexCorruptError,
    IndexLockedError,
    IndexMismatchError,
    IndexNotFoundError,
)
from search.failpoints import pause_point
from search.vectors import build_vector_index, describe

if TYPE_CHECKING:
    import faiss
    import numpy as np

SCHEMA_VERSION = 3
POINTER = "CURRENT"
LOCK_FILE = ".ingest.lock"
GENERATION_PREFIX = "gen-"
TEMP_PREFIX = ".tmp-"


@dataclass(frozen=True)
class StoredDocument:
    """A document as the index keeps it: the loaded text plus where it came from."""

    document: Document
    #: Absolute path of the file at ingest time, and of the folder it was found in.
    path: str
    root: str
    ingested_at: str


@dataclass(frozen=True)
class Manifest:
    model: str
    dimension: int
    chunking: dict[str, Any]
    documents: dict[str, str]  # doc_id → file fingerprint
    chunk_count: int
    sentence_count: int = 0
    #: Files that failed to load: source → fingerprint, reason, message, kept_previous.
    failures: dict[str, dict[str, Any]] = field(default_factory=dict)
    generation: str = ""
    built_at: str = ""
    max_seq_tokens: int = 0
    normalised: bool = True
    metric: str = "inner_product"
    vector_index: str = "IndexFlatIP"
    schema_version: int = SCHEMA_VERSION
    extra: dict[str, Any] = field(default_factory=dict)


class SentenceStore:
    """Quotable sentences, found by document and character range."""

    def __init__(self, spans: list[SentenceSpan]) -> None:
        self.spans = spans
        self._by_doc: dict[str, list[int]] = {}
        for position, span in enumerate(spans):
            self._by_doc.setdefault(span.doc_id, []).append(position)

    def within(self, doc_id: str, start: int, end: int) -> list[int]:
        """Positions of the sentences lying inside ``[start, end)`` of one document."""
        return [i for i in self._by_doc.get(doc_id, ())
                if start <= self.spans[i].start and self.spans[i].end <= end]

    def of_document(self, doc_id: str) -> list[int]:
        return list(self._by_doc.get(doc_id, ()))


@dataclass(frozen=True)
class IndexSnapshot:
    """One opened generation: everything a search needs, read once."""

    folder: Path
    manifest: Manifest
    documents: dict[str, StoredDocument]
    chunks: list[Chunk]
    vectors: faiss.Index
    lexical: lexical.LexicalIndex
    sentences: SentenceStore

    def chunk_vectors(self) -> np.ndarray:
        """All vectors in chunk order (for reuse by the next ingest)."""
        return self.vectors.reconstruct_n(0, self.vectors.ntotal)


def current_generation(index_dir: Path) -> Path | None:
    pointer = index_dir / POINTER
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return index_dir / name


def read_manifest(index_dir: Path) -> Manifest:
    """The served generation's manifest, without loading vectors (cheap, torch-free)."""
    generation = current_generation(index_dir)
    if generation is None:
        raise IndexNotFoundError(
            f"No index in '{index_dir}'. Build one: python ingest.py corpus --index {index_dir}"
        )
    try:
        raw = json.loads((generation / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise IndexCorruptError(
            f"The index in '{index_dir}' has no readable manifest ({error}). Rebuild it: "
            f"python ingest.py SOURCES --index {index_dir}"
        ) from error
    version = raw.get("schema_version")
    if version != SCHEMA_VERSION:
        raise IndexMismatchError(
            f"The index in '{index_dir}' uses schema version {version}; this version reads "
            f"{SCHEMA_VERSION}. Rebuild it: delete the folder and run "
            f"python ingest.py SOURCES --index {index_dir}"
        )
    known = {name for name in Manifest.__dataclass_fields__}
    return Manifest(**{key: value for key, value in raw.items() if key in known})


def open_index(index_dir: Path | str) -> IndexSnapshot:
    """Open the served generation; raises an IndexError_ subclass that says how to fix it."""
    import faiss

    index_dir = Path(index_dir)
    manifest = read_manifest(index_dir)
    folder = index_dir / manifest.generation
    try:
        vectors = faiss.read_index(str(folder / "vectors.faiss"))
        chunks = [_chunk_from_json(json.loads(line)) for line in _lines(folder / "chunks.jsonl")]
        documents = {}
        for line in _lines(folder / "documents.jsonl"):
            stored = _stored_document_from_json(json.loads(line))
            documents[stored.document.doc_id] = stored
        lexical_index = lexical.LexicalIndex(folder / lexical.FOLDER, len(chunks))
        sentences = _read_sentences(folder, documents)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as error:
        raise IndexCorruptError(
            f"The index in '{index_dir}' is damaged ({type(error).__name__}: {error}). "
            f"Rebuild it: python ingest.py SOURCES --index {index_dir}"
        ) from error
    if vectors.ntotal != len(chunks) or vectors.d != manifest.dimension:
        raise IndexCorruptError(
            f"The index in '{index_dir}' holds {vectors.ntotal} vectors of dimension "
            f"{vectors.d} for {len(chunks)} chunks (manifest: dimension {manifest.dimension}). "
            f"Rebuild it: python ingest.py SOURCES --index {index_dir}"
        )
    return IndexSnapshot(index_dir, manifest, documents, chunks, vectors, lexical_index,
                         sentences)


def check_model(manifest: Manifest, index_dir: Path, model: str, dimension: int | None) -> None:
    """Refuse to query vectors made by another model: the scores would be garbage."""
    if manifest.model != model or (dimension is not None and dimension != manifest.dimension):
        raise IndexMismatchError(
            f"The index in '{index_dir}' was built with model '{manifest.model}' "
            f"(dimension {manifest.dimension}), not '{model}'"
            f"{f' (dimension {dimension})' if dimension is not None else ''}. Search it with "
            f"--model {manifest.model}, or rebuild it: "
            f"python ingest.py SOURCES --index {index_dir} --model {model}"
        )


def publish(
    index_dir: Path, manifest: Manifest, documents: list[StoredDocument], chunks: list[Chunk],
    vectors: np.ndarray, sentences: list[SentenceSpan] | None = None, *,
    approximate_from: int = DEFAULT_APPROXIMATE_FROM,
) -> str:
    """Write a complete new generation beside the served one and switch CURRENT to it."""
    import faiss
    import numpy as np

    sentences = sentences or []
    if len(vectors) != len(chunks):
        raise ValueError(f"{len(vectors)} vectors for {len(chunks)} chunks")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    name = f"{GENERATION_PREFIX}{stamp}-{uuid.uuid4().hex[:8]}"
    temporary = index_dir / f"{TEMP_PREFIX}{name}"
    temporary.mkdir(parents=True)

    searchable = build_vector_index(
        np.asarray(vectors, dtype=np.float32).reshape(len(chunks), manifest.dimension),
        approximate_from)
    faiss.write_index(searchable, str(temporary / "vectors.faiss"))
    _write_lines(temporary / "chunks.jsonl", (_chunk_to_json(c) for c in chunks))
    _write_lines(temporary / "documents.jsonl", (_stored_document_to_json(d) for d in documents))
    lexical.build(temporary / lexical.FOLDER, [c.embedding_text for c in chunks])
    _write_lines(temporary / "sentences.jsonl",
                 ({"s": [x.doc_id, x.start, x.end, x.content_hash]} for x in sentences))
    final = Manifest(**{**asdict(manifest), "generation": name,
                        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
                        "chunk_count": len(chunks), "vector_index": describe(searchable)})
    _write_text(temporary / "manifest.json", json.dumps(asdict(final), indent=2))
    for path in [*temporary.iterdir(), *(temporary / lexical.FOLDER).iterdir()]:
        _fsync(path)
    pause_point("write")
    os.rename(temporary, index_dir / name)
    _write_text(index_dir / f"{POINTER}.tmp", name)
    pause_point("switch")
    os.replace(index_dir / f"{POINTER}.tmp", index_dir / POINTER)
    _fsync(index_dir)
    return name


def remove_old_generations(index_dir: Path, keep: int = 2, grace_seconds: float = 600) -> None:
    """Delete crash debris and generations older than the newest ``keep``.

    The previous generation stays for readers that opened it just before the switch;
    older ones go once they are past a grace period. Call with the ingest lock held.
    """
    current = current_generation(index_dir)
    now = time.time()
    for path in index_dir.iterdir():
        if path.name.startswith(TEMP_PREFIX) and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
    generations = sorted(
        (p for p in index_dir.iterdir() if p.name.startswith(GENERATION_PREFIX) and p.is_dir()),
        key=lambda p: p.stat().st_mtime, reverse=True,
    )
    for path in generations[keep:]:
        if path != current and now - path.stat().st_mtime > grace_seconds:
            shutil.rmtree(path, ignore_errors=True)
    with contextlib.suppress(FileNotFoundError):
        (index_dir / f"{POINTER}.tmp").unlink()


@contextlib.contextmanager
def ingest_lock(index_dir: Path) -> Iterator[None]:
    """Hold the folder's write lock; a second ingest is refused, never interleaved."""
    index_dir.mkdir(parents=True, exist_ok=True)
    handle = open(index_dir / LOCK_FILE, "a+")  # noqa: SIM115 - held for the whole block
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexLockedError(
                f"Another ingest is writing to '{index_dir}'. Wait for it to finish and run "
                "this one again."
            ) from None
        yield
    finally:
        handle.close()


# --- (de)serialisation ----------------------------------------------------------------

# Shallow copies, not dataclasses.asdict: its deep copy was a third of publishing time.
def _chunk_to_json(chunk: Chunk) -> dict[str, Any]:
    return dict(vars(chunk))  # tuples are written as JSON lists


def _chunk_from_json(record: dict[str, Any]) -> Chunk:
    return Chunk(**{**record, "section": tuple(record["section"])})


def _stored_document_to_json(stored: StoredDocument) -> dict[str, Any]:
    document = stored.document
    return {**vars(stored), "document": {**vars(document),
                                         "sections": [vars(s) for s in document.sections]}}


def _stored_document_from_json(record: dict[str, Any]) -> StoredDocument:
    raw = record["document"]
    sections = tuple(
        Section(**{**s, "breadcrumb": tuple(s["breadcrumb"])}) for s in raw["sections"]
    )
    document = Document(**{**raw, "sections": sections,
                           "page_starts": tuple(raw["page_starts"])})
    return StoredDocument(document, record["path"], record["root"], record["ingested_at"])


def _read_sentences(folder: Path, documents: dict[str, StoredDocument]) -> SentenceStore:
    spans: list[SentenceSpan] = []
    sections = {doc_id: stored.document.sections for doc_id, stored in documents.items()}
    starts = {doc_id: [s.start for s in found] for doc_id, found in sections.items()}
    for line in _lines(folder / "sentences.jsonl"):
        doc_id, start, end, digest = json.loads(line)["s"]
        # The sentence belongs to the last section starting at or before it.
        owner = sections[doc_id][max(0, bisect_right(starts[doc_id], start) - 1)]
        spans.append(SentenceSpan(doc_id, owner.breadcrumb, start, end, digest))
    return SentenceStore(spans)


def _lines(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield line


def _write_lines(path: Path, records: Iterator[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False))
            handle.write("\n")


def _write_text(path: Path, text: str) -> None:
    with path.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
