"""Reading the index: a segment's files (checked against their checksums), a generation's
segments, and ``open_index``, which assembles the served snapshot from them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from search import lexical
from search.documents import Chunk
from search.errors import (
    IndexCorruptError,
)
from search.index.manifest import (
    damaged,
    read_manifest,
)
from search.index.records import (
    RECOVERABLE,
    SEGMENTS,
    IndexSnapshot,
    Manifest,
    SentenceStore,
    StoredDocument,
    chunk_from_json,
    document_from_json,
    file_sha256,
    read_lines,
    sentence_span,
)

if TYPE_CHECKING:
    import numpy as np


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
            self._lines[file] = list(read_lines(self.folder / file))
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
        return document_from_json(
            json.loads(self.lines("documents.jsonl")[self.entries[doc_id].line]))

    def chunks_of(self, doc_id: str) -> list[Chunk]:
        first, end = self.entries[doc_id].chunks
        return [chunk_from_json(json.loads(line))
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
            except RECOVERABLE as error:
                raise damaged(self.index_dir, error) from error
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
                raise damaged(self.index_dir, ValueError(
                    f"{path} holds {actual} bytes, not the {size} written"))
            if digest is not None and file_sha256(path) != digest:
                raise damaged(self.index_dir, ValueError(
                    f"{path} is not the file written (its checksum differs)"))
        except OSError as error:
            raise damaged(self.index_dir, error) from error

    def counts(self, doc_id: str) -> tuple[int, int]:
        """How many chunks and quotable sentences a served document has."""
        try:
            entry = self.segment(self.manifest.placement[doc_id]).entries[doc_id]
        except KeyError as error:
            raise damaged(self.index_dir, error) from error
        return entry.chunks[1] - entry.chunks[0], entry.sentences[1] - entry.sentences[0]

    def chunks_and_vectors(self, doc_id: str) -> tuple[list[Chunk], np.ndarray]:
        """A served document's chunks and their vectors (for reuse when it changes)."""
        segment = self.segment(self.manifest.placement[doc_id])
        try:
            return segment.chunks_of(doc_id), segment.vectors_of(doc_id)
        except RECOVERABLE as error:
            raise damaged(self.index_dir, error) from error

    def sentences_and_vectors(self, doc_id: str) -> tuple[list[str], np.ndarray]:
        """A served document's quotable sentences as the model saw them, and their stored
        vectors (for reuse when it changes); only for an index built with them."""
        segment = self.segment(self.manifest.placement[doc_id])
        try:
            entry = segment.entries[doc_id]
            document = segment.stored_document(doc_id).document
            bounds = segment.sentence_bounds()[slice(*entry.sentences)]
            texts = [sentence_span(document, int(start), int(end)).embedding_text(document.text)
                     for start, end in bounds]
            return texts, segment.sentence_vectors()[slice(*entry.sentences)]
        except RECOVERABLE as error:
            raise damaged(self.index_dir, error) from error


def open_generation(index_dir: Path | str) -> Generation:
    """The served generation, for an ingest that builds the next one from it."""
    index_dir = Path(index_dir)
    return Generation(index_dir, read_manifest(index_dir))


def open_index(index_dir: Path | str) -> IndexSnapshot:
    """Open the served generation; raises an IndexFolderError subclass that says how to fix it."""
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
                chunks.extend(chunk_from_json(json.loads(chunk_lines[row]))
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
            vectors.add(stack(vector_parts, manifest.dimension))
        lexical_index = lexical.LexicalIndex(lexical.TermCounts.concatenate(term_parts))
        bounds = stack(sentence_parts, 2, "int64")
        sentence_vectors = None
        if manifest.sentence_vectors:
            sentence_vectors = stack(sentence_vector_parts, manifest.dimension)
            if len(sentence_vectors) != len(bounds):
                raise ValueError(f"{len(sentence_vectors)} sentence vectors for "
                                 f"{len(bounds)} sentences")
        sentences = SentenceStore(documents, bounds, sentence_ranges, sentence_vectors)
    except RECOVERABLE as error:
        raise damaged(index_dir, error) from error
    if vectors.ntotal != len(chunks) or vectors.d != manifest.dimension:
        raise IndexCorruptError(
            f"The index in '{index_dir}' holds {vectors.ntotal} vectors of dimension "
            f"{vectors.d} for {len(chunks)} chunks (manifest: dimension {manifest.dimension}). "
            f"Rebuild it: python ingest.py SOURCES --index {index_dir}"
        )
    documents = dict(sorted(documents.items()))
    return IndexSnapshot(index_dir, manifest, documents, chunks, vectors, lexical_index,
                         sentences)


def stack(parts: list[np.ndarray], width: int, dtype: str = "float32") -> np.ndarray:
    """Rows of ``width`` columns, one part after another (float32 vectors by default)."""
    import numpy as np

    if not parts:
        return np.zeros((0, width), dtype=dtype)
    return np.ascontiguousarray(np.concatenate(parts), dtype=dtype).reshape(-1, width)
