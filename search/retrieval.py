"""Query → ranked Hits: dense (FAISS), lexical (BM25) or both fused, filtered, de-duplicated."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from search import index as store
from search.config import RetrievalSettings, Settings
from search.documents import Chunk
from search.embedding import Embedder, load_embedder, resolve_model, set_threads
from search.errors import QueryError
from search.vectors import search_vectors
from search.vocabulary import Expansion, load_vocabulary

if TYPE_CHECKING:
    import numpy as np

#: Longest query accepted, in characters; longer text is not a question.
MAX_QUERY_CHARS = 2_000


@dataclass(frozen=True)
class Hit:
    rank: int
    score: float
    chunk: Chunk
    #: Position of the chunk in the index's vector store.
    row: int = -1

    def as_dict(self) -> dict[str, Any]:
        """The result record of the CLI and API contract."""
        c = self.chunk
        return {
            "rank": self.rank, "score": round(self.score, 6), "chunk_id": c.chunk_id,
            "doc_id": c.doc_id, "source": c.source, "title": c.title,
            "section": c.breadcrumb, "text": c.text, "start": c.start, "end": c.end,
            "page": c.page,
        }


@dataclass(frozen=True)
class Filters:
    """Restrict results to some documents and/or sections (heading text, any case)."""

    doc_ids: frozenset[str] = field(default_factory=frozenset)
    sections: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.doc_ids or self.sections)

    def allows(self, chunk: Chunk) -> bool:
        if self.doc_ids and chunk.doc_id not in self.doc_ids:
            return False
        heading = chunk.section[-1].lower()
        return not self.sections or any(s.lower() in heading for s in self.sections)


class Searcher:
    """An opened index and the model that embedded it, ready for many queries."""

    def __init__(self, snapshot: store.IndexSnapshot, embedder: Embedder,
                 settings: RetrievalSettings | None = None) -> None:
        store.check_model(snapshot.manifest, snapshot.folder, embedder.name, embedder.dimension)
        self.snapshot = snapshot
        self.embedder = embedder
        self.settings = settings or RetrievalSettings()
        self.vocabulary = load_vocabulary(self.settings.vocabulary)
        self._names = _document_names(snapshot)

    @property
    def generation(self) -> str:
        return self.snapshot.manifest.generation

    def expand(self, query: str) -> Expansion:
        return self.vocabulary.expand(clean_query(query))

    def search(self, query: str, k: int = 5, *, mode: str | None = None,
               filters: Filters | None = None, one_per_section: bool | None = None,
               vector: np.ndarray | None = None) -> list[Hit]:
        """The ``k`` best passages; ``vector`` is the query's embedding if already known."""
        if k < 1:
            raise QueryError(f"k must be at least 1, got {k}")
        mode = mode or self.settings.mode
        if mode not in ("dense", "lexical", "hybrid"):
            raise QueryError(f"mode must be dense, lexical or hybrid, got {mode!r}")
        expansion = self.expand(query)
        mask = self._mask(filters) if filters else None
        depth = max(self.settings.candidates, k * 4)
        dense = self._dense(expansion, depth, mask, vector) if mode != "lexical" else []
        lexical = self._lexical(expansion, depth, mask) if mode != "dense" else []
        named = self._named_documents(expansion) if mode == "hybrid" else frozenset()
        ranked = self._fuse(dense, lexical, named) if mode == "hybrid" else (dense or lexical)
        one = self.settings.one_per_section if one_per_section is None else one_per_section
        hits: list[Hit] = []
        seen: set[tuple[str, tuple[str, ...]]] = set()
        for row, score in ranked:
            chunk = self.snapshot.chunks[row]
            key = (chunk.doc_id, chunk.section)
            if one and key in seen:
                continue
            seen.add(key)
            hits.append(Hit(len(hits) + 1, score, chunk, row))
            if len(hits) == k:
                break
        return hits

    def query_text(self, expansion: Expansion) -> str:
        """What the model embeds for a query: with the added terms only if expand_dense."""
        return expansion.joined() if self.settings.expand_dense else expansion.text

    def query_vector(self, expansion: Expansion) -> np.ndarray:
        return self.embedder.embed_query(self.query_text(expansion))

    def _dense(self, expansion: Expansion, depth: int, mask: np.ndarray | None,
               vector: np.ndarray | None) -> list[tuple[int, float]]:
        import numpy as np

        query = vector if vector is not None else self.query_vector(expansion)
        allowed = None if mask is None else np.flatnonzero(mask).astype("int64")
        return search_vectors(self.snapshot.vectors, query, depth, allowed)

    def _lexical(self, expansion: Expansion, depth: int,
                 mask: np.ndarray | None) -> list[tuple[int, float]]:
        return self.snapshot.lexical.search(expansion.joined(), depth, mask)

    def _fuse(self, dense: list[tuple[int, float]], lexical: list[tuple[int, float]],
              named: frozenset[str]) -> list[tuple[int, float]]:
        """Weighted reciprocal-rank fusion: robust to the rankers' unlike score scales.

        A document the question names (its title or acronym: "how long does CBT take")
        gets a third vote, as if a ranker had put it first.
        """
        s = self.settings
        fused: dict[int, float] = {}
        for weight, ranking in ((s.dense_weight, dense), (s.lexical_weight, lexical)):
            for rank, (row, _) in enumerate(ranking, start=1):
                fused[row] = fused.get(row, 0.0) + weight / (s.rrf_k + rank)
        if named and s.title_weight:
            chunks = self.snapshot.chunks
            for row in fused:
                if chunks[row].doc_id in named:
                    fused[row] += s.title_weight / (s.rrf_k + 1)
        return sorted(fused.items(), key=lambda item: (-item[1], item[0]))

    def named_documents(self, query: str) -> frozenset[str]:
        """Documents whose title or acronym ``query`` names."""
        return self._named_documents(self.expand(query))

    def _named_documents(self, expansion: Expansion) -> frozenset[str]:
        """Documents whose title or acronym the question (or its expansion) names."""
        words = _name_key(" ".join((expansion.text, *expansion.added))).split()
        found: set[str] = set()
        for size in range(1, min(len(words), _MAX_NAME_WORDS) + 1):
            for start in range(len(words) - size + 1):
                found.update(self._names.get(" ".join(words[start:start + size]), ()))
        return frozenset(found)

    def _mask(self, filters: Filters) -> np.ndarray:
        import numpy as np

        return np.fromiter((filters.allows(c) for c in self.snapshot.chunks), dtype=bool,
                           count=len(self.snapshot.chunks))


_MAX_NAME_WORDS = 8
_PARENTHESES = re.compile(r"\(([^)]*)\)")


def _name_key(text: str) -> str:
    """Lower case, words only: "CBT-I" → "cbt i", "Art therapy (ACT)" → "art therapy act"."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def _document_names(snapshot: store.IndexSnapshot) -> dict[str, set[str]]:
    """Name → documents: each title without its brackets, and what the brackets hold."""
    names: dict[str, set[str]] = {}
    for doc_id, stored in snapshot.documents.items():
        title = stored.document.title
        for name in (_PARENTHESES.sub(" ", title), *_PARENTHESES.findall(title)):
            key = _name_key(name)
            if key and len(key.split()) <= _MAX_NAME_WORDS:
                names.setdefault(key, set()).add(doc_id)
    return names


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
    embedder = load_embedder(wanted, settings.batch_size, backend=settings.backend,
                             threads=settings.query_model_threads, cache=settings.model_cache)
    set_threads(settings.query_threads)
    return Searcher(snapshot, embedder, settings.retrieval)
