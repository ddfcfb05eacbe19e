"""The ingest's load stage: each file compared with the served generation, and the
changed ones loaded and chunked, into a frozen record of what changed (``Changes``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from search import index
from search.chunking import chunk_document, quotable_sentences
from search.discovery import Failure, SourceFile
from search.embedding import load_token_counter
from search.errors import LoadError
from search.failpoints import pause_point
from search.loaders import load_document

if TYPE_CHECKING:
    from collections.abc import Callable

    from search.config import Settings


@dataclass(frozen=True)
class Changes:
    """What loading found, file by file, against the served generation: the next
    generation's documents (kept as served, or loaded anew) and every file's outcome."""

    added: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]
    removed: tuple[str, ...]
    failed: tuple[Failure, ...]
    #: Documents served as the previous generation serves them, untouched.
    kept: tuple[str, ...]
    #: Documents loaded in this run, to be written into a new segment.
    new: tuple[index.NewDocument, ...]
    #: Every served document's file fingerprint, kept or new.
    fingerprints: dict[str, str]
    #: The bytes of each file that failed to load (source → fingerprint).
    failed_bytes: dict[str, str]

    def any(self, previous: index.Generation | None) -> bool:
        return bool(self.added or self.updated or self.removed) or previous is None


def load_changes(files: list[SourceFile], fingerprints: dict[str, str | LoadError],
                  previous: index.Generation | None, settings: Settings,
                  progress: Callable[[str, int, int], None] | None) -> Changes:
    """Load and chunk each file whose bytes the served generation does not have."""
    served = previous.manifest.documents if previous else {}
    added: list[str] = []
    updated: list[str] = []
    unchanged: list[str] = []
    failed: list[Failure] = []
    kept: list[str] = []
    new: list[index.NewDocument] = []
    served_fingerprints: dict[str, str] = {}
    failed_bytes: dict[str, str] = {}

    def keep_old(doc_id: str) -> None:
        kept.append(doc_id)
        served_fingerprints[doc_id] = served[doc_id]

    now = datetime.now(UTC).isoformat(timespec="seconds")
    first_source: dict[str, str] = {}  # fingerprint → the file that brought it
    for done, file in enumerate(files, start=1):
        old = served.get(file.source)
        fingerprint = None
        try:
            found = fingerprints[file.source]
            if isinstance(found, LoadError):
                raise found
            fingerprint = found
            twin = first_source.setdefault(fingerprint, file.source)
            if twin != file.source:
                raise LoadError("duplicate", f"the same content as '{twin}', which is "
                                "already indexed; remove one of the copies")
            if old == fingerprint:
                keep_old(file.source)
                unchanged.append(file.source)
                continue
            document = load_document(file.path, file.source, settings)
            # load_token_counter is cached: loaded with the first file that is chunked
            chunks = chunk_document(document, load_token_counter(settings.model),
                                    settings.chunking)
        except LoadError as error:
            # Serve the last good version rather than lose it; but not a copy of a page
            # served under another name, which would be served twice.
            kept_previous = old is not None and error.reason != "duplicate"
            if kept_previous:
                keep_old(file.source)
            failed.append(Failure(file.source, error.reason, str(error),
                                  kept_previous=kept_previous))
            if fingerprint is not None:
                failed_bytes[file.source] = fingerprint
            continue
        finally:
            if progress:
                progress("load", done, len(files))
            pause_point("load")
        stored = index.StoredDocument(document, str(file.path), str(file.root), now)
        new.append(index.NewDocument(stored, chunks, quotable_sentences(document)))
        served_fingerprints[document.doc_id] = document.fingerprint
        (updated if old is not None else added).append(file.source)
    seen = {f.source for f in files}
    return Changes(tuple(added), tuple(updated), tuple(unchanged),
                   tuple(sorted(doc_id for doc_id in served if doc_id not in seen)),
                   tuple(failed), tuple(kept), tuple(new), served_fingerprints, failed_bytes)


def served_counts(changes: Changes, previous: index.Generation | None) -> tuple[int, int]:
    """Chunks and quotable sentences the next generation serves."""
    chunks = sum(len(d.chunks) for d in changes.new)
    sentences = sum(len(d.sentences) for d in changes.new)
    for doc_id in changes.kept:
        assert previous is not None
        kept_chunks, kept_sentences = previous.counts(doc_id)
        chunks += kept_chunks
        sentences += kept_sentences
    return chunks, sentences
