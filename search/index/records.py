"""The index folder's records and files: the schema and folder names, the dataclasses
that pass between reader and writer, and their JSON, checksums and synced writes."""

from __future__ import annotations

import functools
import json
import os
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from search import lexical
from search.documents import Chunk, Document, Section, SentenceSpan

if TYPE_CHECKING:
    import faiss
    import numpy as np


#: 5: list items of any length are quotable sentences (answers keep a lead-in's list).
#: 6: every file is written with its SHA-256, checked at open and at ingest.
SCHEMA_VERSION = 6
POINTER = "CURRENT"
LOCK_FILE = ".ingest.lock"
GENERATION_PREFIX = "gen-"
SEGMENTS = "segments"
SEGMENT_PREFIX = "seg-"
TEMP_PREFIX = ".tmp-"
#: A segment whose replaced rows pass this share is rewritten into the next new one.
MAX_REPLACED_SHARE = 0.3
#: Past this many segments, all but the largest are merged into the next new one.
MAX_SEGMENTS = 8

#: What reading a damaged or vanished file can raise: I/O (OSError; FAISS's RuntimeError),
#: a garbled record (ValueError, KeyError) and np.load of an emptied .npy (EOFError). Not
#: TypeError or IndexError: every file is checked against its checksum before it is read,
#: so those would be a bug in this code, and must not be reported as "rebuild the index".
RECOVERABLE = (OSError, ValueError, KeyError, RuntimeError, EOFError)


@dataclass(frozen=True)
class StoredDocument:
    """A document as the index keeps it: the loaded text plus where it came from."""

    document: Document
    #: Absolute path of the file at ingest time, and of the folder it was found in.
    path: str
    root: str
    ingested_at: str


@dataclass(frozen=True)
class NewDocument:
    """A document to write into the next segment, with its chunks and sentences."""

    stored: StoredDocument
    chunks: list[Chunk]
    sentences: list[SentenceSpan]


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
    #: Whether every segment holds its quotable sentences' vectors.
    sentence_vectors: bool = False
    #: The segments served, in row order, and the segment that serves each document.
    segments: list[str] = field(default_factory=list)
    placement: dict[str, str] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION
    extra: dict[str, Any] = field(default_factory=dict)
    #: SHA-256 of the files this generation relies on besides the segments' data files
    #: (each segment's segment.json, the approximate vector index), by path in the folder.
    checksums: dict[str, str] = field(default_factory=dict)


class SentenceStore:
    """Quotable sentences, found by document and character range.

    Kept as one array of [start, end) bounds, grouped by document: MedQuAD has 190,000
    sentences, and an object for each made opening the index take seconds.
    """

    def __init__(self, documents: dict[str, StoredDocument], bounds: np.ndarray,
                 ranges: dict[str, tuple[int, int]], vectors: np.ndarray | None = None) -> None:
        self._documents = documents
        self._bounds = bounds
        self._ranges = ranges
        self._vectors = vectors
        self._firsts = sorted((first, doc_id) for doc_id, (first, last) in ranges.items()
                              if last > first)

    def __len__(self) -> int:
        return len(self._bounds)

    def within(self, doc_id: str, start: int, end: int) -> list[int]:
        """Positions of the sentences lying inside ``[start, end)`` of one document."""
        import numpy as np

        first, last = self._ranges.get(doc_id, (0, 0))
        bounds = self._bounds[first:last]
        inside = np.flatnonzero((bounds[:, 0] >= start) & (bounds[:, 1] <= end))
        return [int(i) + first for i in inside]

    def of_document(self, doc_id: str) -> list[int]:
        return list(range(*self._ranges.get(doc_id, (0, 0))))

    def vectors_of(self, positions: Sequence[int]) -> np.ndarray | None:
        """The sentences' stored vectors; None when the index was built without them."""
        return None if self._vectors is None else self._vectors[list(positions)]

    def span(self, position: int) -> SentenceSpan:
        """One sentence, with its document and the section it lies in."""
        doc_id = self._firsts[bisect_right(self._firsts, (position, "\uffff")) - 1][1]
        start, end = (int(x) for x in self._bounds[position])
        return sentence_span(self._documents[doc_id].document, start, end)


def sentence_span(document: Document, start: int, end: int) -> SentenceSpan:
    """A stored sentence: it belongs to the last section starting at or before it."""
    sections = document.sections
    owner = max(0, bisect_right([s.start for s in sections], start) - 1)
    return SentenceSpan(document.doc_id, sections[owner].breadcrumb if sections else (),
                        start, end)


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

    @functools.cached_property
    def _by_chunk_id(self) -> dict[str, Chunk]:
        return {chunk.chunk_id: chunk for chunk in self.chunks}

    def chunk(self, chunk_id: str) -> Chunk | None:
        """The chunk with this id, looked up (not scanned for)."""
        return self._by_chunk_id.get(chunk_id)

    @functools.cached_property
    def chunk_counts(self) -> dict[str, int]:
        """How many chunks each document has."""
        counts: dict[str, int] = {}
        for chunk in self.chunks:
            counts[chunk.doc_id] = counts.get(chunk.doc_id, 0) + 1
        return counts


# --- segments ---------------------------------------------------------------------------


def record_sha256(record: dict[str, Any]) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(record, sort_keys=True).encode("utf-8")).hexdigest()


def file_sha256(path: Path) -> str:
    import hashlib

    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


# --- (de)serialisation ----------------------------------------------------------------

# Shallow copies, not dataclasses.asdict: its deep copy was a third of publishing time.
def chunk_to_json(chunk: Chunk) -> dict[str, Any]:
    # Tuples are written as JSON lists; the breadcrumb under its on-disk name, "section".
    return {("section" if name == "breadcrumb" else name): value
            for name, value in vars(chunk).items()}


def chunk_from_json(record: dict[str, Any]) -> Chunk:
    fields: dict[str, Any] = {("breadcrumb" if name == "section" else name): value
                              for name, value in record.items()}
    fields["breadcrumb"] = tuple(fields["breadcrumb"])
    return Chunk(**fields)


def document_to_json(stored: StoredDocument) -> dict[str, Any]:
    document = stored.document
    return {**vars(stored), "document": {**vars(document),
                                         "sections": [vars(s) for s in document.sections]}}


def document_from_json(record: dict[str, Any]) -> StoredDocument:
    raw = record["document"]
    sections = tuple(
        Section(**{**s, "breadcrumb": tuple(s["breadcrumb"])}) for s in raw["sections"]
    )
    document = Document(**{**raw, "sections": sections,
                           "page_starts": tuple(raw["page_starts"])})
    return StoredDocument(document, record["path"], record["root"], record["ingested_at"])


def read_lines(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield line


def json_line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False) + "\n"


def write_synced(path: Path, text: str) -> None:
    with path.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def fsync_path(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
