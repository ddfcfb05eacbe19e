"""Paths → a published index generation: discover (``search.discovery``), load and chunk,
embed (``search.ingest_embedding``), publish (``search.index``).

Re-ingest is incremental: a document whose file fingerprint is unchanged stays where
the index serves it from (nothing of it is read), a changed document keeps the vector of
every chunk whose text is unchanged, so only new text is embedded, and only the changed
documents are written. When nothing changed, nothing is loaded, embedded or published,
and torch is never imported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from search import index as store
from search.chunking import TokenCounter, chunk_document, quotable_sentences
from search.config import Settings
from search.discovery import Failure, SourceFile, discover, fingerprint_files
from search.embedding import Embedder, load_token_counter, resolve_model
from search.errors import IndexCorruptError, IndexFolderError, IndexWriteError, LoadError
from search.failpoints import pause_point
from search.ingest_embedding import EmbeddingJob, embed_new_documents
from search.loaders import load_document

if TYPE_CHECKING:
    import numpy as np

#: Called with (stage, done, total) as work advances; stage is "load" or "embed".
Progress = Callable[[str, int, int], None]


@dataclass
class IngestReport:
    index: str
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    chunks: int = 0
    sentences: int = 0
    chunks_embedded: int = 0
    #: Sentences embedded on their own, and pooled from their chunk's forward pass.
    sentences_embedded: int = 0
    sentences_pooled: int = 0
    published: bool = False
    generation: str = ""
    #: Why nothing could be published, when ``published`` is False and it should have been.
    error: str = ""

    @property
    def exit_code(self) -> int:
        """0: all went in; 2: some files failed, the rest is served; 1: nothing published."""
        if self.error:
            return 1
        return 2 if self.failed else 0

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "exit_code": self.exit_code}


def build_index(
    paths: Sequence[Path | str], index_dir: Path | str, settings: Settings | None = None, *,
    embedder: Embedder | None = None, progress: Progress | None = None,
) -> IngestReport:
    """Make ``index_dir`` serve exactly the documents under ``paths``.

    Never raises for a bad file: it lands in ``report.failed``. Raises only for what
    stops the whole ingest (a held lock, a model that cannot load).
    """
    settings = settings or Settings()
    index_dir = Path(index_dir)
    files, failures = discover(paths, settings)
    with store.ingest_lock(index_dir):
        store.remove_old_generations(index_dir)
        report = IngestReport(index=str(index_dir), failed=list(failures))
        # Each file is read and hashed once, here; only the changed ones are read again,
        # to be parsed (and fingerprinted again, from the very bytes parsed).
        fingerprints = fingerprint_files(files, settings)
        if _nothing_changed(files, fingerprints, index_dir, settings, report):
            return report
        previous = _previous(index_dir, settings)
        try:
            return _publish_changes(files, fingerprints, index_dir, settings, previous,
                                    report, embedder, progress)
        except IndexCorruptError:
            if previous is None:
                raise
        # A segment the served generation needs is damaged: build everything afresh.
        report = IngestReport(index=str(index_dir), failed=list(failures))
        return _publish_changes(files, fingerprints, index_dir, settings, None, report,
                                embedder, progress)


def _publish_changes(files: list[SourceFile], fingerprints: dict[str, str | LoadError],
                     index_dir: Path, settings: Settings,
                     previous: store.Generation | None, report: IngestReport,
                     embedder: Embedder | None, progress: Progress | None) -> IngestReport:
    """Load what changed since ``previous`` (everything, without one), embed, publish."""
    plan = _IngestRun(settings, previous, report, progress)
    plan.load(files, fingerprints)
    if not plan.fingerprints:
        report.error = "no document could be loaded" if files or report.failed else \
            "no supported files (.md, .txt, .html, .pdf) were found"
        return report
    report.chunks, report.sentences = plan.counts()
    if not plan.changed():
        return report
    vectors, sentence_vectors = plan.embed(embedder)
    manifest = store.Manifest(
        model=plan.model, dimension=plan.dimension, chunking=asdict(settings.chunking),
        documents=plan.fingerprints, chunk_count=report.chunks,
        sentence_count=report.sentences, max_seq_tokens=plan.max_seq_tokens,
        failures=plan.failed_files(), sentence_vectors=settings.embed_sentences_at_ingest,
    )
    try:
        report.generation = store.publish(index_dir, manifest, plan.new, vectors,
                                          previous=previous, keep=plan.kept,
                                          approximate_from=settings.approximate_from,
                                          sentence_vectors=sentence_vectors)
    except OSError as error:  # ENOSPC, EROFS, EDQUOT...: nothing was switched
        store.remove_unpublished(index_dir)
        raise IndexWriteError(
            f"Could not write the new index into '{index_dir}' ({error.strerror or error}). "
            "Nothing was changed: the served index is as it was. Free some space (or make "
            "the folder writable) and run the ingest again") from error
    report.published = True
    return report


def _nothing_changed(files: list[SourceFile], fingerprints: dict[str, str | LoadError],
                     index_dir: Path, settings: Settings, report: IngestReport) -> bool:
    """True when every file's bytes are those the served generation was built from.

    Decided from the manifest alone: opening the whole index to find that out took most
    of a no-change re-ingest of MedQuAD. Files that failed last time count as unchanged
    while their bytes are the same, and their failures are reported again. Anything else
    (a new, missing or unreadable file, a missing path) goes the full way.
    """
    if report.failed:
        return False
    try:
        manifest = store.read_manifest(index_dir)
    except IndexFolderError:
        return False
    # A file that failed last time is "unchanged" while its bytes are the ones that failed.
    built = {**manifest.documents,
             **{source: f["fingerprint"] for source, f in manifest.failures.items()}}
    if not _same_setup(manifest, settings) or sorted(built) != [f.source for f in files]:
        return False
    if any(fingerprints[f.source] != built[f.source] for f in files):
        return False  # changed, or unreadable now
    try:  # checked last: a changed file goes the full way, which checks it once there
        store.Generation(index_dir, manifest).verify()
    except IndexFolderError:
        return False
    report.unchanged = [f.source for f in files if f.source not in manifest.failures]
    report.failed = [Failure(source, f["reason"], f["message"], f["kept_previous"])
                     for source, f in sorted(manifest.failures.items())]
    report.chunks, report.sentences = manifest.chunk_count, manifest.sentence_count
    return True


def _previous(index_dir: Path, settings: Settings) -> store.Generation | None:
    """The served generation, if its documents and vectors can be kept with these settings."""
    try:
        generation = store.open_generation(index_dir)
        generation.verify()
    except IndexFolderError:
        return None  # missing, old schema or damaged: rebuild from scratch
    return generation if _same_setup(generation.manifest, settings) else None


def _same_setup(manifest: store.Manifest, settings: Settings) -> bool:
    """Whether a generation was built with this model, chunking and choice of sentence
    vectors (else rebuild all)."""
    return (manifest.model == resolve_model(settings.model).name
            and manifest.chunking == asdict(settings.chunking)
            and manifest.sentence_vectors == settings.embed_sentences_at_ingest)


class _IngestRun:
    """The state of one ingest run, between loading and publishing."""

    def __init__(
        self, settings: Settings, previous: store.Generation | None, report: IngestReport,
        progress: Progress | None,
    ) -> None:
        self.settings = settings
        self.previous = previous
        self.report = report
        self.progress = progress
        self.model = resolve_model(settings.model).name
        self.max_seq_tokens = previous.manifest.max_seq_tokens if previous else 0
        self.dimension = previous.manifest.dimension if previous else 0
        #: Every served document's file fingerprint, kept or new.
        self.fingerprints: dict[str, str] = {}
        #: Documents served as the previous generation serves them, untouched.
        self.kept: list[str] = []
        #: Documents loaded in this run, to be written into a new segment.
        self.new: list[store.NewDocument] = []
        self._counter: TokenCounter | None = None
        #: The bytes of each file that failed to load (source → fingerprint).
        self._failed_bytes: dict[str, str] = {}

    def changed(self) -> bool:
        r = self.report
        return bool(r.added or r.updated or r.removed) or self.previous is None

    def counts(self) -> tuple[int, int]:
        """Chunks and quotable sentences the next generation serves."""
        chunks = sum(len(d.chunks) for d in self.new)
        sentences = sum(len(d.sentences) for d in self.new)
        for doc_id in self.kept:
            assert self.previous is not None
            kept_chunks, kept_sentences = self.previous.counts(doc_id)
            chunks += kept_chunks
            sentences += kept_sentences
        return chunks, sentences

    def load(self, files: list[SourceFile], fingerprints: dict[str, str | LoadError]) -> None:
        served = self.previous.manifest.documents if self.previous else {}

        def keep_old(doc_id: str) -> None:
            self.kept.append(doc_id)
            self.fingerprints[doc_id] = served[doc_id]

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
                    self.report.unchanged.append(file.source)
                    continue
                document = load_document(file.path, file.source, self.settings)
                chunks = chunk_document(document, self._token_counter(), self.settings.chunking)
            except LoadError as error:
                # Serve the last good version rather than lose it; but not a copy of a page
                # served under another name, which would be served twice.
                kept = old is not None and error.reason != "duplicate"
                if kept:
                    keep_old(file.source)
                self.report.failed.append(Failure(file.source, error.reason, str(error),
                                                  kept_previous=kept))
                if fingerprint is not None:
                    self._failed_bytes[file.source] = fingerprint
                continue
            finally:
                if self.progress:
                    self.progress("load", done, len(files))
                pause_point("load")
            stored = store.StoredDocument(document, str(file.path), str(file.root), now)
            self.new.append(store.NewDocument(stored, chunks, quotable_sentences(document)))
            self.fingerprints[document.doc_id] = document.fingerprint
            (self.report.updated if old is not None else self.report.added).append(file.source)
        seen = {f.source for f in files}
        self.report.removed = sorted(doc_id for doc_id in served if doc_id not in seen)

    def failed_files(self) -> dict[str, dict[str, object]]:
        """What the manifest keeps of this run's failures, so that a later re-ingest
        of the same bytes can report them without opening the index: only when every
        failure's bytes are known (a file that could not be read goes the full way)."""
        failures = self.report.failed
        if any(f.source not in self._failed_bytes for f in failures):
            return {}
        return {f.source: {"fingerprint": self._failed_bytes[f.source], "reason": f.reason,
                           "message": f.message, "kept_previous": f.kept_previous}
                for f in failures}

    def _token_counter(self) -> TokenCounter:
        if self._counter is None:
            self._counter = load_token_counter(self.settings.model)
        return self._counter

    def embed(self, embedder: Embedder | None) -> tuple[np.ndarray, np.ndarray | None]:
        """Vectors for the new documents (``search.ingest_embedding``)."""
        done = embed_new_documents(EmbeddingJob(
            self.settings, self.new, self.previous, self.report.updated, self.progress,
            self.dimension, self.max_seq_tokens), embedder)
        self.dimension, self.max_seq_tokens = done.dimension, done.max_seq_tokens
        if done.chunks_embedded or done.sentences_embedded or done.sentences_pooled:
            self.report.chunks_embedded = done.chunks_embedded
            self.report.sentences_embedded = done.sentences_embedded
            self.report.sentences_pooled = done.sentences_pooled
        return done.chunk_vectors, done.sentence_vectors
