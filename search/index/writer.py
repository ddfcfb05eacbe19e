"""Publishing a generation: one new segment for what changed, merging segments that have
grown sparse, a manifest, and the pointer switched last."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from search import lexical
from search.config import DEFAULT_APPROXIMATE_FROM
from search.failpoints import pause_point
from search.index.manifest import (
    damaged,
)
from search.index.reader import Generation, Segment, stack
from search.index.records import (
    GENERATION_PREFIX,
    MAX_REPLACED_SHARE,
    MAX_SEGMENTS,
    POINTER,
    RECOVERABLE,
    SEGMENT_PREFIX,
    SEGMENTS,
    TEMP_PREFIX,
    Manifest,
    NewDocument,
    chunk_to_json,
    document_to_json,
    file_sha256,
    fsync_path,
    json_line,
    record_sha256,
    write_synced,
)
from search.vectors import build_vector_index, describe

if TYPE_CHECKING:
    import numpy as np


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
        except RECOVERABLE as error:
            raise damaged(index_dir, error) from error
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
        if path.parent == temporary else path.relative_to(index_dir).as_posix(): file_sha256(path)
        for path in relied_on})
    # vars, not asdict: its deep copy of thousands of fingerprints showed in the profile.
    body = vars(final)
    write_synced(temporary / "manifest.json",
                json.dumps({**body, "checksum": record_sha256(body)}, indent=2))
    for path in temporary.iterdir():
        fsync_path(path)
    pause_point("write")
    os.rename(temporary, index_dir / name)
    write_synced(index_dir / f"{POINTER}.tmp", name)
    pause_point("switch")
    os.replace(index_dir / f"{POINTER}.tmp", index_dir / POINTER)
    fsync_path(index_dir)
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
    return stack(parts, manifest.dimension)


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
        self.documents.append(json_line(document_to_json(document.stored)))
        self.chunks.extend(json_line(chunk_to_json(c)) for c in document.chunks)
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
        except RECOVERABLE as error:
            raise damaged(index_dir, error) from error
    for document in new:
        records.add(document)
    records.vectors.append(vectors)
    if sentence_vectors is not None:
        records.sentence_vectors.append(sentence_vectors)
    records.terms.append(lexical.count_terms([c.embedding_text for d in new for c in d.chunks]))

    name = f"{SEGMENT_PREFIX}{_stamp()}"
    folder = index_dir / SEGMENTS / f"{TEMP_PREFIX}{name}"
    folder.mkdir(parents=True)
    np.save(folder / "vectors.npy", stack(records.vectors, dimension), allow_pickle=False)
    np.save(folder / "sentences.npy", stack(records.sentences, 2, "int64"), allow_pickle=False)
    if with_sentence_vectors:
        np.save(folder / "sentence_vectors.npy", stack(records.sentence_vectors, dimension),
                allow_pickle=False)
    lexical.write_terms(folder / lexical.FOLDER, lexical.TermCounts.concatenate(records.terms))
    write_synced(folder / "documents.jsonl", "".join(records.documents))
    write_synced(folder / "chunks.jsonl", "".join(records.chunks))
    files = [path for path in sorted(folder.rglob("*")) if path.is_file()]
    sizes = {path.relative_to(folder).as_posix(): path.stat().st_size for path in files}
    checksums = {path.relative_to(folder).as_posix(): file_sha256(path) for path in files}
    write_synced(folder / "segment.json", json.dumps(
        {"rows": len(records.chunks), "documents": records.entries, "sizes": sizes,
         "checksums": checksums}))
    for path in [*folder.iterdir(), *(folder / lexical.FOLDER).iterdir()]:
        fsync_path(path)
    os.rename(folder, folder.with_name(name))
    fsync_path(folder.parent)
    return name
