"""Query → ranked Hits over one opened index generation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from search import index as store
from search.config import Settings
from search.documents import Chunk
from search.embedding import Embedder, load_embedder, resolve_model, set_threads
from search.errors import QueryError

#: Longest query accepted, in characters; longer text is not a question.
MAX_QUERY_CHARS = 2_000


@dataclass(frozen=True)
class Hit:
    rank: int
    score: float
    chunk: Chunk

    def as_dict(self) -> dict[str, Any]:
        """The result record of the CLI and API contract."""
        c = self.chunk
        return {
            "rank": self.rank, "score": round(self.score, 6), "chunk_id": c.chunk_id,
            "doc_id": c.doc_id, "source": c.source, "title": c.title,
            "section": c.breadcrumb, "text": c.text, "start": c.start, "end": c.end,
            "page": c.page,
        }


class Searcher:
    """An opened index and the model that embedded it, ready for many queries."""

    def __init__(self, snapshot: store.IndexSnapshot, embedder: Embedder) -> None:
        store.check_model(snapshot.manifest, snapshot.folder, embedder.name, embedder.dimension)
        self.snapshot = snapshot
        self.embedder = embedder

    @property
    def generation(self) -> str:
        return self.snapshot.manifest.generation

    def search(self, query: str, k: int = 5) -> list[Hit]:
        query = clean_query(query)
        if k < 1:
            raise QueryError(f"k must be at least 1, got {k}")
        count = min(k, self.snapshot.vectors.ntotal)
        if count == 0:
            return []
        vector = self.embedder.embed_query(query).reshape(1, -1)
        scores, rows = self.snapshot.vectors.search(vector, count)
        return [
            Hit(rank, float(score), self.snapshot.chunks[row])
            for rank, (score, row) in enumerate(zip(scores[0], rows[0], strict=True), start=1)
            if row >= 0
        ]


def clean_query(query: str) -> str:
    """Collapse whitespace and refuse what is not a question, with a reason."""
    if not isinstance(query, str):
        raise QueryError("the query must be text")
    cleaned = " ".join("".join(ch if ch.isprintable() else " " for ch in query).split())
    if not cleaned:
        raise QueryError("the query is empty: type a question or some words to search for")
    if len(cleaned) > MAX_QUERY_CHARS:
        raise QueryError(f"the query is {len(cleaned):,} characters long; the limit is "
                         f"{MAX_QUERY_CHARS:,}: shorten it to the question itself")
    return cleaned


def open_searcher(index_dir: Path | str, settings: Settings | None = None,
                  model: str | None = None) -> Searcher:
    """Open ``index_dir`` with the model it was built with (or ``model``, checked)."""
    settings = settings or Settings()
    index_dir = Path(index_dir)
    manifest = store.read_manifest(index_dir)
    wanted = model or manifest.model
    store.check_model(manifest, index_dir, resolve_model(wanted).name, None)
    snapshot = store.open_index(index_dir)
    embedder = load_embedder(wanted, settings.batch_size)
    set_threads(settings.query_threads)
    return Searcher(snapshot, embedder)
