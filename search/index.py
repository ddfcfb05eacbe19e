"""Owns the index folder: manifest, segments, generations, atomic publish.

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

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
import uuid
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
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
_RECOVERABLE = (OSError, ValueError, KeyError, RuntimeError, EOFError)


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
        return _sentence_span(self._documents[doc_id].document, start, end)


def _sentence_span(document: Document, start: int, end: int) -> SentenceSpan:
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


# --- segments ---------------------------------------------------------------------------

@dataclass(frozen=True)
class _Entry:
    """Where one document's records lie in its segment: its line, chunk and sentence rows."""

    line: int
    chunks: tuple[int, int]
    sentences: tuple[int, int]


class Segment:
    """One segment folder, read lazily: opening it reads only ``segment.json``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.name = folder.name
        raw = json.loads((folder / "segment.json").read_text(encoding="utf-8"))
        self.entries: dict[str, _Entry] = {
            doc_id: _Entry(line, (c0, c1), (s0, s1))
            for line, (doc_id, c0, c1, s0, s1) in enumerate(raw["documents"])
        }
        self.rows = int(raw["rows"])
        #: Each file's size when written: a cheap check that nothing was cut short or lost.
        self.sizes: dict[str, int] = raw.get("sizes", {})
        #: Each file's SHA-256 when written: a flipped byte or two swapped rows keep the
        #: size, not the checksum.
        self.checksums: dict[str, str] = raw.get("checksums", {})
        self._lines: dict[str, list[str]] = {}
        self._terms: lexical.TermCounts | None = None
        self._sentences: np.ndarray | None = None
        self._maps: dict[str, np.ndarray] = {}

    def lines(self, file: str) -> list[str]:
        """The raw JSON lines of one of the segment's files (kept: a segment never changes)."""
        if file not in self._lines:
            self._lines[file] = list(_lines(self.folder / file))
        return self._lines[file]

    def sentence_bounds(self) -> np.ndarray:
        import numpy as np

        if self._sentences is None:
            self._sentences = np.load(self.folder / "sentences.npy", allow_pickle=False)
        return self._sentences

    def vectors(self) -> np.ndarray:
        return self._mapped("vectors.npy")

    def sentence_vectors(self) -> np.ndarray:
        return self._mapped("sentence_vectors.npy")

    def _mapped(self, file: str) -> np.ndarray:
        """A memory map of one of the segment's arrays, made once: a map per document
        made opening MedQuAD with sentence vectors peak at 11.7 GB resident."""
        import numpy as np

        if file not in self._maps:
            self._maps[file] = np.load(self.folder / file, mmap_mode="r", allow_pickle=False)
        return self._maps[file]

    def terms(self) -> lexical.TermCounts:
        if self._terms is None:
            self._terms = lexical.read_terms(self.folder / lexical.FOLDER)
        return self._terms

    def served(self, placement: dict[str, str]) -> list[tuple[str, _Entry]]:
        """The documents that ``placement`` serves from this segment, in segment order."""
        return [(doc_id, entry) for doc_id, entry in self.entries.items()
                if placement.get(doc_id) == self.name]

    def served_rows(self, placement: dict[str, str]) -> list[int]:
        """The chunk rows of the documents that ``placement`` serves from this segment."""
        return [row for _, entry in self.served(placement) for row in range(*entry.chunks)]

    def stored_document(self, doc_id: str) -> StoredDocument:
        return _stored_document_from_json(
            json.loads(self.lines("documents.jsonl")[self.entries[doc_id].line]))

    def chunks_of(self, doc_id: str) -> list[Chunk]:
        first, end = self.entries[doc_id].chunks
        return [_chunk_from_json(json.loads(line))
                for line in self.lines("chunks.jsonl")[first:end]]

    def vectors_of(self, doc_id: str) -> np.ndarray:
        first, end = self.entries[doc_id].chunks
        return self.vectors()[first:end]


class Generation:
    """A published generation as an ingest sees it: the manifest, segments opened lazily."""

    def __init__(self, index_dir: Path, manifest: Manifest) -> None:
        self.index_dir = index_dir
        self.manifest = manifest
        self._segments: dict[str, Segment] = {}

    def segment(self, name: str) -> Segment:
        if name not in self._segments:
            try:
                self._segments[name] = Segment(self.index_dir / SEGMENTS / name)
            except _RECOVERABLE as error:
                raise _damaged(self.index_dir, error) from error
        return self._segments[name]

    def verify(self) -> None:
        """Raise IndexCorruptError when a file the generation relies on is missing, not
        the size written, or not the bytes written (its SHA-256 differs).

        An ingest and ``open_index`` run it before trusting the generation, so a damaged
        segment is rebuilt rather than served or carried into the next generation. The
        sizes cost a stat per file; the checksums a read of every file (README, "The
        index folder", for the time it takes).
        """
        for relative, digest in self.manifest.checksums.items():
            self._check_written(self.index_dir / relative, None, digest)
        for name in self.manifest.segments:
            segment = self.segment(name)
            for file, size in segment.sizes.items():
                self._check_written(segment.folder / file, size, segment.checksums.get(file))

    def _check_written(self, path: Path, size: int | None, digest: str | None) -> None:
        """``path`` as written: its size first (a stat), then its SHA-256 (a read)."""
        try:
            actual = path.stat().st_size
            if size is not None and actual != size:
                raise _damaged(self.index_dir, ValueError(
                    f"{path} holds {actual} bytes, not the {size} written"))
            if digest is not None and _sha256(path) != digest:
                raise _damaged(self.index_dir, ValueError(
                    f"{path} is not the file written (its checksum differs)"))
        except OSError as error:
            raise _damaged(self.index_dir, error) from error

    def counts(self, doc_id: str) -> tuple[int, int]:
        """How many chunks and quotable sentences a served document has."""
        try:
            entry = self.segment(self.manifest.placement[doc_id]).entries[doc_id]
        except KeyError as error:
            raise _damaged(self.index_dir, error) from error
        return entry.chunks[1] - entry.chunks[0], entry.sentences[1] - entry.sentences[0]

    def chunks_and_vectors(self, doc_id: str) -> tuple[list[Chunk], np.ndarray]:
        """A served document's chunks and their vectors (for reuse when it changes)."""
        segment = self.segment(self.manifest.placement[doc_id])
        try:
            return segment.chunks_of(doc_id), segment.vectors_of(doc_id)
        except _RECOVERABLE as error:
            raise _damaged(self.index_dir, error) from error

    def sentences_and_vectors(self, doc_id: str) -> tuple[list[str], np.ndarray]:
        """A served document's quotable sentences as the model saw them, and their stored
        vectors (for reuse when it changes); only for an index built with them."""
        segment = self.segment(self.manifest.placement[doc_id])
        try:
            entry = segment.entries[doc_id]
            document = segment.stored_document(doc_id).document
            bounds = segment.sentence_bounds()[slice(*entry.sentences)]
            texts = [_sentence_span(document, int(start), int(end)).embedding_text(document.text)
                     for start, end in bounds]
            return texts, segment.sentence_vectors()[slice(*entry.sentences)]
        except _RECOVERABLE as error:
            raise _damaged(self.index_dir, error) from error


def _damaged(index_dir: Path, error: BaseException) -> IndexCorruptError:
    return IndexCorruptError(
        f"The index in '{index_dir}' is damaged ({type(error).__name__}: {error}). "
        f"Rebuild it: python ingest.py SOURCES --index {index_dir}"
    )


def current_generation(index_dir: Path) -> Path | None:
    pointer = index_dir / POINTER
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:  # a flipped byte, a folder named CURRENT
        raise IndexCorruptError(
            f"The index in '{index_dir}' is damaged: its {POINTER} pointer cannot be read "
            f"({type(error).__name__}). Rebuild it: python ingest.py corpus --index "
            f"{index_dir}") from error
    return index_dir / name


def _not_a_file(index_dir: Path) -> None:
    """``--index README.md`` names a file: say so, instead of a NotADirectoryError."""
    if index_dir.exists() and not index_dir.is_dir():
        raise IndexNotFoundError(
            f"'{index_dir}' is a file, not an index folder. Pass the folder the index lives "
            "in (the one holding CURRENT), e.g. --index index")


def read_manifest(index_dir: Path) -> Manifest:
    """The served generation's manifest, without loading vectors (cheap, torch-free)."""
    _not_a_file(Path(index_dir))
    generation = current_generation(index_dir)
    if generation is None:
        raise IndexNotFoundError(
            f"No index in '{index_dir}'. Build one: python ingest.py corpus --index {index_dir}"
        )
    return _manifest_at(generation, index_dir)


def _manifest_at(generation: Path, index_dir: Path) -> Manifest:
    try:
        raw = json.loads((generation / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise IndexCorruptError(
            f"The index in '{index_dir}' has no readable manifest ({error}). Rebuild it: "
            f"python ingest.py SOURCES --index {index_dir}"
        ) from error
    written = raw.pop("checksum", None) if isinstance(raw, dict) else None
    if written is not None and written != _json_sha256(raw):
        raise IndexCorruptError(
            f"The index in '{index_dir}' is damaged: its manifest is not the one written (its "
            f"checksum differs). Rebuild it: python ingest.py SOURCES --index {index_dir}")
    version = raw.get("schema_version")
    if version != SCHEMA_VERSION:
        raise IndexMismatchError(
            f"The index in '{index_dir}' uses schema version {version}; this version reads "
            f"{SCHEMA_VERSION}. Rebuild it: delete the folder and run "
            f"python ingest.py SOURCES --index {index_dir}"
        )
    known = {name for name in Manifest.__dataclass_fields__}
    return Manifest(**{key: value for key, value in raw.items() if key in known})


def open_generation(index_dir: Path | str) -> Generation:
    """The served generation, for an ingest that builds the next one from it."""
    index_dir = Path(index_dir)
    return Generation(index_dir, read_manifest(index_dir))


def open_index(index_dir: Path | str) -> IndexSnapshot:
    """Open the served generation; raises an IndexError_ subclass that says how to fix it."""
    import faiss
    import numpy as np

    generation = open_generation(index_dir)
    generation.verify()  # never serve a changed byte (README, "The index folder")
    index_dir, manifest = generation.index_dir, generation.manifest
    folder = index_dir / manifest.generation
    chunks: list[Chunk] = []
    documents: dict[str, StoredDocument] = {}
    sentence_parts: list[np.ndarray] = []
    sentence_vector_parts: list[np.ndarray] = []
    sentence_ranges: dict[str, tuple[int, int]] = {}
    sentence_total = 0
    vector_parts: list[np.ndarray] = []
    term_parts: list[lexical.TermCounts] = []
    try:
        for name in manifest.segments:
            segment = generation.segment(name)
            served = segment.served(manifest.placement)
            rows = segment.served_rows(manifest.placement)
            chunk_lines = segment.lines("chunks.jsonl")
            for doc_id, entry in served:
                documents[doc_id] = segment.stored_document(doc_id)
                chunks.extend(_chunk_from_json(json.loads(chunk_lines[row]))
                              for row in range(*entry.chunks))
                bounds = segment.sentence_bounds()[slice(*entry.sentences)]
                sentence_parts.append(bounds)
                if manifest.sentence_vectors:
                    sentence_vector_parts.append(
                        segment.sentence_vectors()[slice(*entry.sentences)])
                sentence_ranges[doc_id] = (sentence_total, sentence_total + len(bounds))
                sentence_total += len(bounds)
            vector_parts.append(np.asarray(segment.vectors()[rows], dtype=np.float32))
            term_parts.append(segment.terms().take(rows))
        missing = set(manifest.placement) - set(documents)
        if missing:
            raise KeyError(f"documents missing from their segments: {sorted(missing)[:3]}")
        if (folder / "vectors.faiss").exists():
            vectors = faiss.read_index(str(folder / "vectors.faiss"))
        else:  # exact search: assembled here rather than stored twice
            vectors = faiss.IndexFlatIP(manifest.dimension)
            vectors.add(_stack(vector_parts, manifest.dimension))
        lexical_index = lexical.LexicalIndex(lexical.TermCounts.concatenate(term_parts))
        bounds = _stack(sentence_parts, 2, "int64")
        sentence_vectors = None
        if manifest.sentence_vectors:
            sentence_vectors = _stack(sentence_vector_parts, manifest.dimension)
            if len(sentence_vectors) != len(bounds):
                raise ValueError(f"{len(sentence_vectors)} sentence vectors for "
                                 f"{len(bounds)} sentences")
        sentences = SentenceStore(documents, bounds, sentence_ranges, sentence_vectors)
    except _RECOVERABLE as error:
        raise _damaged(index_dir, error) from error
    if vectors.ntotal != len(chunks) or vectors.d != manifest.dimension:
        raise IndexCorruptError(
            f"The index in '{index_dir}' holds {vectors.ntotal} vectors of dimension "
            f"{vectors.d} for {len(chunks)} chunks (manifest: dimension {manifest.dimension}). "
            f"Rebuild it: python ingest.py SOURCES --index {index_dir}"
        )
    documents = dict(sorted(documents.items()))
    return IndexSnapshot(index_dir, manifest, documents, chunks, vectors, lexical_index,
                         sentences)


def _stack(parts: list[np.ndarray], width: int, dtype: str = "float32") -> np.ndarray:
    """Rows of ``width`` columns, one part after another (float32 vectors by default)."""
    import numpy as np

    if not parts:
        return np.zeros((0, width), dtype=dtype)
    return np.ascontiguousarray(np.concatenate(parts), dtype=dtype).reshape(-1, width)


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
    index_dir: Path, manifest: Manifest, new: Sequence[NewDocument], vectors: np.ndarray, *,
    previous: Generation | None = None, keep: Iterable[str] = (),
    approximate_from: int = DEFAULT_APPROXIMATE_FROM,
    sentence_vectors: np.ndarray | None = None,
) -> str:
    """Write the next generation and switch CURRENT to it.

    It serves the ``new`` documents (``vectors``: their chunks' vectors, in order) from a
    new segment, and the ``keep`` documents from wherever ``previous`` serves them.
    ``sentence_vectors`` (the new documents' sentences', in order) are required exactly
    when ``manifest.sentence_vectors`` says the index keeps them.
    """
    import faiss
    import numpy as np

    chunk_total = sum(len(d.chunks) for d in new)
    if len(vectors) != chunk_total:
        raise ValueError(f"{len(vectors)} vectors for {chunk_total} chunks")
    sentence_total = sum(len(d.sentences) for d in new)
    given = None if sentence_vectors is None else len(sentence_vectors)
    if given != (sentence_total if manifest.sentence_vectors else None):
        raise ValueError(f"{given} sentence vectors for {sentence_total} sentences "
                         f"(manifest.sentence_vectors={manifest.sentence_vectors})")
    placement = {doc_id: previous.manifest.placement[doc_id] for doc_id in keep} \
        if previous is not None else {}
    merged = _segments_to_merge(previous, placement) if previous is not None else set()
    copied = [doc_id for doc_id, name in placement.items() if name in merged]
    still_served = set(placement.values()) - merged
    order = [name for name in (previous.manifest.segments if previous else [])
             if name in still_served]
    if new or copied:
        segment = _write_segment(index_dir, new, np.asarray(vectors, dtype=np.float32),
                                 manifest.dimension, previous, copied, sentence_vectors)
        placement.update({doc_id: segment for doc_id in copied})
        placement.update({d.stored.document.doc_id: segment for d in new})
        order.append(segment)
    pause_point("segment")

    name = f"{GENERATION_PREFIX}{_stamp()}"
    temporary = index_dir / f"{TEMP_PREFIX}{name}"
    temporary.mkdir(parents=True)
    reader = Generation(index_dir, replace(manifest, placement=placement, segments=order))
    chunk_count = sentence_count = 0
    for doc_id in placement:
        chunks, sentences = reader.counts(doc_id)
        chunk_count += chunks
        sentence_count += sentences
    vector_index = describe(faiss.IndexFlatIP(manifest.dimension))
    if chunk_count >= approximate_from:
        try:
            served = _served_vectors(reader)
        except _RECOVERABLE as error:
            raise _damaged(index_dir, error) from error
        searchable = build_vector_index(served, approximate_from)
        faiss.write_index(searchable, str(temporary / "vectors.faiss"))
        vector_index = describe(searchable)
    final = replace(reader.manifest, generation=name,
                    built_at=datetime.now(UTC).isoformat(timespec="seconds"),
                    chunk_count=chunk_count, sentence_count=sentence_count,
                    vector_index=vector_index)
    relied_on = [index_dir / SEGMENTS / segment / "segment.json" for segment in order]
    relied_on += [path for path in (temporary / "vectors.faiss",) if path.exists()]
    final = replace(final, checksums={
        path.relative_to(index_dir).as_posix().replace(temporary.name, name, 1)
        if path.parent == temporary else path.relative_to(index_dir).as_posix(): _sha256(path)
        for path in relied_on})
    # vars, not asdict: its deep copy of thousands of fingerprints showed in the profile.
    body = vars(final)
    _write_text(temporary / "manifest.json",
                json.dumps({**body, "checksum": _json_sha256(body)}, indent=2))
    for path in temporary.iterdir():
        _fsync(path)
    pause_point("write")
    os.rename(temporary, index_dir / name)
    _write_text(index_dir / f"{POINTER}.tmp", name)
    pause_point("switch")
    os.replace(index_dir / f"{POINTER}.tmp", index_dir / POINTER)
    _fsync(index_dir)
    return name


def _stamp() -> str:
    return f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"


def _segments_to_merge(previous: Generation, placement: dict[str, str]) -> set[str]:
    """Kept segments to rewrite into the new one: those mostly replaced, and, when there
    are too many, every one but the largest (so a run of one-page edits stays cheap)."""
    live: dict[str, int] = {}
    for doc_id, name in placement.items():
        live[name] = live.get(name, 0) + previous.counts(doc_id)[0]
    merged = {name for name, rows in live.items()
              if rows < (1 - MAX_REPLACED_SHARE) * previous.segment(name).rows}
    remaining = [name for name in live if name not in merged]
    if len(remaining) + 1 > MAX_SEGMENTS:
        largest = max(remaining, key=lambda name: live[name])
        merged.update(name for name in remaining if name != largest)
    return merged


def _served_vectors(generation: Generation) -> np.ndarray:
    """Every served vector, in the row order open_index assembles."""
    manifest = generation.manifest
    parts = []
    for name in manifest.segments:
        segment = generation.segment(name)
        parts.append(segment.vectors()[segment.served_rows(manifest.placement)])
    return _stack(parts, manifest.dimension)


@dataclass
class _SegmentRecords:
    """What a new segment will hold, gathered document by document."""

    entries: list[list[Any]] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)
    chunks: list[str] = field(default_factory=list)
    sentences: list[np.ndarray] = field(default_factory=list)
    vectors: list[np.ndarray] = field(default_factory=list)
    terms: list[lexical.TermCounts] = field(default_factory=list)
    sentence_vectors: list[np.ndarray] = field(default_factory=list)
    sentence_total: int = 0

    def _enter(self, doc_id: str, chunks: int, sentences: int) -> None:
        first_chunk = len(self.chunks)
        self.entries.append([doc_id, first_chunk, first_chunk + chunks,
                             self.sentence_total, self.sentence_total + sentences])
        self.sentence_total += sentences

    def copy(self, doc_id: str, source: Segment, with_sentence_vectors: bool) -> None:
        """A served document's records, as they are, from the segment that holds it."""
        entry = source.entries[doc_id]
        self._enter(doc_id, entry.chunks[1] - entry.chunks[0],
                    entry.sentences[1] - entry.sentences[0])
        self.documents.append(source.lines("documents.jsonl")[entry.line])
        self.chunks.extend(source.lines("chunks.jsonl")[slice(*entry.chunks)])
        self.sentences.append(source.sentence_bounds()[slice(*entry.sentences)])
        self.vectors.append(source.vectors()[slice(*entry.chunks)])
        self.terms.append(source.terms().take(range(*entry.chunks)))
        if with_sentence_vectors:  # a segment without them raises: the index is damaged
            self.sentence_vectors.append(source.sentence_vectors()[slice(*entry.sentences)])

    def add(self, document: NewDocument) -> None:
        """A newly loaded document (its vectors and term counts are added in one go)."""
        import numpy as np

        self._enter(document.stored.document.doc_id, len(document.chunks),
                    len(document.sentences))
        self.documents.append(_dumps(_stored_document_to_json(document.stored)))
        self.chunks.extend(_dumps(_chunk_to_json(c)) for c in document.chunks)
        self.sentences.append(np.array([(x.start, x.end) for x in document.sentences],
                                       dtype=np.int64).reshape(-1, 2))


def _write_segment(index_dir: Path, new: Sequence[NewDocument], vectors: np.ndarray,
                   dimension: int, previous: Generation | None, copied: list[str],
                   sentence_vectors: np.ndarray | None) -> str:
    """A new segment holding the copied documents' records (as they are) and the new ones."""
    import numpy as np

    records = _SegmentRecords()
    with_sentence_vectors = sentence_vectors is not None
    if previous is not None:
        try:
            for doc_id in copied:
                records.copy(doc_id, previous.segment(previous.manifest.placement[doc_id]),
                             with_sentence_vectors)
        except _RECOVERABLE as error:
            raise _damaged(index_dir, error) from error
    for document in new:
        records.add(document)
    records.vectors.append(vectors)
    if sentence_vectors is not None:
        records.sentence_vectors.append(sentence_vectors)
    records.terms.append(lexical.count_terms([c.embedding_text for d in new for c in d.chunks]))

    name = f"{SEGMENT_PREFIX}{_stamp()}"
    folder = index_dir / SEGMENTS / f"{TEMP_PREFIX}{name}"
    folder.mkdir(parents=True)
    np.save(folder / "vectors.npy", _stack(records.vectors, dimension), allow_pickle=False)
    np.save(folder / "sentences.npy", _stack(records.sentences, 2, "int64"), allow_pickle=False)
    if with_sentence_vectors:
        np.save(folder / "sentence_vectors.npy", _stack(records.sentence_vectors, dimension),
                allow_pickle=False)
    lexical.write_terms(folder / lexical.FOLDER, lexical.TermCounts.concatenate(records.terms))
    _write_text(folder / "documents.jsonl", "".join(records.documents))
    _write_text(folder / "chunks.jsonl", "".join(records.chunks))
    files = [path for path in sorted(folder.rglob("*")) if path.is_file()]
    sizes = {path.relative_to(folder).as_posix(): path.stat().st_size for path in files}
    checksums = {path.relative_to(folder).as_posix(): _sha256(path) for path in files}
    _write_text(folder / "segment.json", json.dumps(
        {"rows": len(records.chunks), "documents": records.entries, "sizes": sizes,
         "checksums": checksums}))
    for path in [*folder.iterdir(), *(folder / lexical.FOLDER).iterdir()]:
        _fsync(path)
    os.rename(folder, folder.with_name(name))
    _fsync(folder.parent)
    return name


def _json_sha256(record: dict[str, Any]) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(record, sort_keys=True).encode("utf-8")).hexdigest()


def _sha256(path: Path) -> str:
    import hashlib

    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def remove_old_generations(index_dir: Path, keep: int = 2, grace_seconds: float = 600) -> None:
    """Delete crash debris and generations older than the newest ``keep``.

    The previous generation stays for readers that opened it just before the switch;
    older ones go once they are past a grace period. Call with the ingest lock held.
    """
    try:
        current = current_generation(index_dir)
    except IndexCorruptError:  # which one is served is unknown: delete no generation
        current, keep = None, len(list(index_dir.iterdir()))
    now = time.time()
    remove_unpublished(index_dir)
    generations = sorted(
        (p for p in index_dir.iterdir() if p.name.startswith(GENERATION_PREFIX) and p.is_dir()),
        key=lambda p: p.stat().st_mtime, reverse=True,
    )
    for path in generations[keep:]:
        if path != current and now - path.stat().st_mtime > grace_seconds:
            shutil.rmtree(path, ignore_errors=True)
    _remove_unused_segments(index_dir)


def remove_unpublished(index_dir: Path) -> None:
    """Delete what a crashed or failed publish left half-written (``.tmp-`` folders, the
    pointer's temporary file): after a full disk at once, after a crash by the next
    ingest."""
    for folder in (index_dir, index_dir / SEGMENTS):
        if folder.is_dir():
            for path in folder.iterdir():
                if path.name.startswith(TEMP_PREFIX):
                    shutil.rmtree(path, ignore_errors=True)
    with contextlib.suppress(FileNotFoundError):
        (index_dir / f"{POINTER}.tmp").unlink()


def _remove_unused_segments(index_dir: Path) -> None:
    """Delete segments no remaining generation lists (replaced, or left by a crash)."""
    folder = index_dir / SEGMENTS
    if not folder.is_dir():
        return
    used: set[str] = set()
    for generation in index_dir.iterdir():
        if generation.name.startswith(GENERATION_PREFIX) and generation.is_dir():
            try:
                raw = json.loads((generation / "manifest.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return  # cannot tell what it uses: delete nothing
            used.update(raw.get("segments", ()))
    for path in folder.iterdir():
        if path.is_dir() and path.name not in used:
            shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def ingest_lock(index_dir: Path) -> Iterator[None]:
    """Hold the folder's write lock; a second ingest is refused, never interleaved."""
    _not_a_file(index_dir)
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


def _lines(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield line


def _dumps(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False) + "\n"


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
