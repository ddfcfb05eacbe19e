"""Paths → a published index generation: discover (``search.discovery``), compare, load
and chunk (``search.ingest_loading``), embed (``search.ingest_embedding``), publish
(``search.index``); the report is made once, from what each step returned.

Re-ingest is incremental: a document whose file fingerprint is unchanged stays where
the index serves it from (nothing of it is read), a changed document keeps the vector of
every chunk whose text is unchanged, so only new text is embedded, and only the changed
documents are written. When nothing changed, nothing is loaded, embedded or published,
and torch is never imported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from search import index
from search.config import Settings
from search.discovery import Failure, SourceFile, discover, fingerprint_files
from search.embedding import Embedder, resolve_model
from search.errors import IndexCorruptError, IndexFolderError, IndexWriteError, LoadError
from search.ingest_embedding import EmbeddingJob, embed_new_documents
from search.ingest_loading import load_changes, served_counts

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
    with index.ingest_lock(index_dir):
        index.remove_old_generations(index_dir)
        # Each file is read and hashed once, here; only the changed ones are read again,
        # to be parsed (and fingerprinted again, from the very bytes parsed).
        fingerprints = fingerprint_files(files, settings)
        if not failures:
            unchanged = _report_if_unchanged(files, fingerprints, index_dir, settings)
            if unchanged is not None:
                return unchanged
        previous = _previous(index_dir, settings)
        try:
            return _publish_changes(files, failures, fingerprints, index_dir, settings,
                                    previous, embedder, progress)
        except IndexCorruptError:
            if previous is None:
                raise
        # A segment the served generation needs is damaged: build everything afresh.
        return _publish_changes(files, failures, fingerprints, index_dir, settings, None,
                                embedder, progress)


def _publish_changes(files: list[SourceFile], failures: list[Failure],
                     fingerprints: dict[str, str | LoadError], index_dir: Path,
                     settings: Settings, previous: index.Generation | None,
                     embedder: Embedder | None, progress: Progress | None) -> IngestReport:
    """Load what changed since ``previous`` (everything, without one), embed, publish;
    the report is made once, from what each step returned."""
    changes = load_changes(files, fingerprints, previous, settings, progress)
    failed = [*failures, *changes.failed]

    def report(**outcome: object) -> IngestReport:
        return IngestReport(str(index_dir), list(changes.added), list(changes.updated),
                            list(changes.unchanged), list(changes.removed), failed,
                            **outcome)  # type: ignore[arg-type]

    if not changes.fingerprints:
        return report(error="no document could be loaded" if files or failed else
                      "no supported files (.md, .txt, .html, .pdf) were found")
    chunks, sentences = served_counts(changes, previous)
    if not changes.any(previous):
        return report(chunks=chunks, sentences=sentences)
    shape = (previous.manifest.dimension, previous.manifest.max_seq_tokens) if previous \
        else (0, 0)
    embedded = embed_new_documents(EmbeddingJob(settings, changes.new, previous,
                                                changes.updated, progress, *shape), embedder)
    manifest = index.Manifest(
        model=resolve_model(settings.model).name, dimension=embedded.dimension,
        chunking=asdict(settings.chunking), documents=changes.fingerprints,
        chunk_count=chunks, sentence_count=sentences, max_seq_tokens=embedded.max_seq_tokens,
        failures=_failures_to_remember(failed, changes.failed_bytes),
        sentence_vectors=settings.embed_sentences_at_ingest,
    )
    try:
        generation = index.publish(index_dir, manifest, list(changes.new),
                                   embedded.chunk_vectors, previous=previous,
                                   keep=list(changes.kept),
                                   approximate_from=settings.approximate_from,
                                   sentence_vectors=embedded.sentence_vectors)
    except OSError as error:  # ENOSPC, EROFS, EDQUOT...: nothing was switched
        index.remove_unpublished(index_dir)
        raise IndexWriteError(
            f"Could not write the new index into '{index_dir}' ({error.strerror or error}). "
            "Nothing was changed: the served index is as it was. Free some space (or make "
            "the folder writable) and run the ingest again") from error
    return report(chunks=chunks, sentences=sentences, published=True, generation=generation,
                  chunks_embedded=embedded.chunks_embedded,
                  sentences_embedded=embedded.sentences_embedded,
                  sentences_pooled=embedded.sentences_pooled)


def _report_if_unchanged(files: list[SourceFile], fingerprints: dict[str, str | LoadError],
                         index_dir: Path, settings: Settings) -> IngestReport | None:
    """The report of a run with nothing to do, when every file's bytes are those the
    served generation was built from; else None.

    Decided from the manifest alone: opening the whole index to find that out took most
    of a no-change re-ingest of MedQuAD. Files that failed last time count as unchanged
    while their bytes are the same, and their failures are reported again. Anything else
    (a new, missing or unreadable file, a missing path) goes the full way.
    """
    try:
        manifest = index.read_manifest(index_dir)
    except IndexFolderError:
        return None
    # A file that failed last time is "unchanged" while its bytes are the ones that failed.
    built = {**manifest.documents,
             **{source: f["fingerprint"] for source, f in manifest.failures.items()}}
    if not _same_setup(manifest, settings) or sorted(built) != [f.source for f in files]:
        return None
    if any(fingerprints[f.source] != built[f.source] for f in files):
        return None  # changed, or unreadable now
    try:  # checked last: a changed file goes the full way, which checks it once there
        index.Generation(index_dir, manifest).verify()
    except IndexFolderError:
        return None
    return IngestReport(
        str(index_dir), unchanged=[f.source for f in files if f.source not in manifest.failures],
        failed=[Failure(source, f["reason"], f["message"], f["kept_previous"])
                for source, f in sorted(manifest.failures.items())],
        chunks=manifest.chunk_count, sentences=manifest.sentence_count)


def _previous(index_dir: Path, settings: Settings) -> index.Generation | None:
    """The served generation, if its documents and vectors can be kept with these settings."""
    try:
        generation = index.open_generation(index_dir)
        generation.verify()
    except IndexFolderError:
        return None  # missing, old schema or damaged: rebuild from scratch
    return generation if _same_setup(generation.manifest, settings) else None


def _same_setup(manifest: index.Manifest, settings: Settings) -> bool:
    """Whether a generation was built with this model, chunking and choice of sentence
    vectors (else rebuild all)."""
    return (manifest.model == resolve_model(settings.model).name
            and manifest.chunking == asdict(settings.chunking)
            and manifest.sentence_vectors == settings.embed_sentences_at_ingest)


def _failures_to_remember(failed: list[Failure],
                          failed_bytes: dict[str, str]) -> dict[str, dict[str, object]]:
    """What the manifest keeps of this run's failures, so that a later re-ingest of the
    same bytes can report them without opening the index: only when every failure's
    bytes are known (a file that could not be read goes the full way)."""
    if any(f.source not in failed_bytes for f in failed):
        return {}
    return {f.source: {"fingerprint": failed_bytes[f.source], "reason": f.reason,
                       "message": f.message, "kept_previous": f.kept_previous}
            for f in failed}
