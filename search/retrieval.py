"""Query → ranked Hits: dense (FAISS), lexical (BM25) or both fused, filtered, de-duplicated.

The Searcher also owns the question's analysis (``search.query``), because what a question
names depends on the index's documents: ``analyse`` builds the Query once, and ``search``
reads it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from search import index
from search.config import MODES, RetrievalSettings, Settings
from search.documents import Chunk
from search.embedding import Embedder, load_embedder, resolve_model, set_threads
from search.errors import QueryError
from search.names import document_names
from search.query import Analyser, Query
from search.question_rules import load_question_rules
from search.vectors import search_vectors, similarities
from search.vocabulary import load_vocabulary

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np


@dataclass(frozen=True)
class Hit:
    rank: int
    score: float
    chunk: Chunk
    #: Position of the chunk in the index's vector index.
    row: int = -1
    #: Cosine similarity of the passage's vector with the question's; ``score`` is a
    #: fused rank in hybrid mode. None when no vector was used (lexical mode).
    similarity: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """The result record of the CLI and API contract."""
        c = self.chunk
        return {
            "rank": self.rank, "score": round(self.score, 6), "chunk_id": c.chunk_id,
            "doc_id": c.doc_id, "source": c.source, "title": c.title,
            "section": c.breadcrumb_text, "text": c.text, "start": c.start, "end": c.end,
            "page": c.page,
            "similarity": None if self.similarity is None else round(self.similarity, 6),
        }


@dataclass(frozen=True)
class Filters:
    """Restrict results to some documents and/or sections: heading text (any case) or
    heading patterns (an intent's, ``search.question_rules.Intent.headings``)."""

    doc_ids: frozenset[str] = field(default_factory=frozenset)
    sections: tuple[str, ...] = ()
    headings: tuple[re.Pattern[str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.doc_ids or self.sections or self.headings)

    def allows(self, chunk: Chunk) -> bool:
        if self.doc_ids and chunk.doc_id not in self.doc_ids:
            return False
        heading = chunk.breadcrumb[-1]
        if self.headings and not any(p.search(heading) for p in self.headings):
            return False
        return not self.sections or any(s.lower() in heading.lower() for s in self.sections)


@dataclass(frozen=True)
class Ranked:
    """A search's passages, and whether its dense and lexical rankers put the same document
    first (None when only one of them ran: mode dense or lexical)."""

    hits: list[Hit]
    rankers_agree: bool | None


class Searcher:
    """An opened index and the model that embedded it, ready for many queries."""

    def __init__(self, snapshot: index.IndexSnapshot, embedder: Embedder,
                 settings: RetrievalSettings | None = None) -> None:
        index.check_model(snapshot.manifest, snapshot.folder, embedder.name, embedder.dimension)
        self.snapshot = snapshot
        self.embedder = embedder
        self.settings = settings or RetrievalSettings()
        self.vocabulary = load_vocabulary(self.settings.vocabulary)
        self.rules = load_question_rules(self.settings.question_rules)
        self.analyser = Analyser(
            self.vocabulary,
            document_names((d, s.document.title) for d, s in snapshot.documents.items()),
            self.rules, snapshot.lexical.knows)

    @property
    def generation(self) -> str:
        return self.snapshot.manifest.generation

    def analyse(self, question: str, subject: str | None = None) -> Query:
        """The question, analysed once (raises QueryError for what is not a question);
        ``subject``, a treatment's title, is added when the question names none."""
        return self.analyser.analyse(question, subject)

    def search(self, query: str | Query, k: int = 5, *, mode: str | None = None,
               filters: Filters | None = None, one_per_section: bool | None = None,
               vector: np.ndarray | None = None) -> list[Hit]:
        """The ``k`` best passages; ``vector`` is the query's embedding if already known."""
        return self.ranked(query, k, mode=mode, filters=filters,
                           one_per_section=one_per_section, vector=vector).hits

    def ranked(self, query: str | Query, k: int = 5, *, mode: str | None = None,
               filters: Filters | None = None, one_per_section: bool | None = None,
               vector: np.ndarray | None = None) -> Ranked:
        """``search``, and whether its two rankers agreed on the first document."""
        if isinstance(query, str):
            query = self.analyse(query)
        if k < 1:
            raise QueryError(f"k must be at least 1, got {k}")
        mode = mode or self.settings.mode
        if mode not in MODES:
            raise QueryError(f"mode must be dense, lexical or hybrid, got {mode!r}")
        mask = self._mask(filters) if filters else None
        depth = max(self.settings.candidates, k * 4)
        if mode != "lexical" and vector is None:
            vector = self.query_vector(query)
        dense = self._dense(depth, mask, vector) if vector is not None and mode != "lexical" \
            else []
        lexical = self._lexical(query, depth, mask) if mode != "dense" else []
        named = query.treatments if mode == "hybrid" else frozenset()
        ranked = self._fuse(dense, lexical, named) if mode == "hybrid" else (dense or lexical)
        one = self.settings.one_per_section if one_per_section is None else one_per_section
        hits: list[Hit] = []
        seen: set[tuple[str, tuple[str, ...]]] = set()
        for row, score in ranked:
            chunk = self.snapshot.chunks[row]
            key = (chunk.doc_id, chunk.breadcrumb)
            if one and key in seen:
                continue
            seen.add(key)
            hits.append(Hit(len(hits) + 1, score, chunk, row))
            if len(hits) == k:
                break
        if vector is not None:
            hits = self._with_similarity(hits, dict(dense), vector)
        return Ranked(hits, self._agree(dense, lexical) if mode == "hybrid" else None)

    def similarities(self, vector: np.ndarray, rows: Sequence[int]) -> list[float]:
        """The cosine similarity of the query ``vector`` with each of the passages ``rows``."""
        return [float(s) for s in similarities(self.snapshot.vectors, vector, rows)]

    def _with_similarity(self, hits: list[Hit], known: dict[int, float],
                         vector: np.ndarray) -> list[Hit]:
        """``hits`` with their similarity: the dense ranker's score where it ranked the
        passage, else read from the index in one call (passages only BM25 found)."""
        missing = [h.row for h in hits if h.row not in known]
        known.update(zip(missing, self.similarities(vector, missing), strict=True))
        return [replace(h, similarity=known[h.row]) for h in hits]

    def model_text(self, query: Query) -> str:
        """What the model embeds for a query: with the added terms only if expand_dense."""
        return query.expansion.joined() if self.settings.expand_dense else query.expansion.text

    def query_vector(self, query: Query) -> np.ndarray:
        return self.embedder.embed_query(self.model_text(query))

    def _dense(self, depth: int, mask: np.ndarray | None,
               vector: np.ndarray) -> list[tuple[int, float]]:
        import numpy as np

        allowed = None if mask is None else np.flatnonzero(mask).astype("int64")
        return search_vectors(self.snapshot.vectors, vector, depth, allowed)

    def _lexical(self, query: Query, depth: int,
                 mask: np.ndarray | None) -> list[tuple[int, float]]:
        return self.snapshot.lexical.search(query.expansion.joined(), depth, mask)

    def rank_agreement(self, query: Query, vector: np.ndarray, filters: Filters | None) -> bool:
        """Whether the dense and the lexical ranker put the same document first (what a
        hybrid ``ranked`` search tells without searching again)."""
        mask = self._mask(filters) if filters else None
        return self._agree(self._dense(5, mask, vector), self._lexical(query, 5, mask))

    def _agree(self, dense: list[tuple[int, float]], lexical: list[tuple[int, float]]) -> bool:
        if not dense or not lexical:
            return False
        chunks = self.snapshot.chunks
        return chunks[dense[0][0]].doc_id == chunks[lexical[0][0]].doc_id

    def _fuse(self, dense: list[tuple[int, float]], lexical: list[tuple[int, float]],
              named: frozenset[str]) -> list[tuple[int, float]]:
        """Weighted reciprocal-rank fusion: robust to the rankers' unlike score scales.

        A document the question names (its title or acronym: "how long does CBT take")
        gets a third vote, as if a ranker had put it first.
        """
        s = self.settings
        fused: dict[int, float] = {}
        lexical_weight = s.lexical_weight * (lexical_lead(lexical) if s.lexical_by_lead
                                             else 1.0)
        for weight, ranking in ((s.dense_weight, dense), (lexical_weight, lexical)):
            for rank, (row, _) in enumerate(ranking, start=1):
                fused[row] = fused.get(row, 0.0) + weight / (s.rrf_k + rank)
        if named and s.title_weight:
            chunks = self.snapshot.chunks
            for row in fused:
                if chunks[row].doc_id in named:
                    fused[row] += s.title_weight / (s.rrf_k + 1)
        return sorted(fused.items(), key=lambda item: (-item[1], item[0]))

    def _mask(self, filters: Filters) -> np.ndarray:
        import numpy as np

        return np.fromiter((filters.allows(c) for c in self.snapshot.chunks), dtype=bool,
                           count=len(self.snapshot.chunks))


#: BM25's lead compares its best score with its score at this rank.
LEAD_RANK = 10


def lexical_lead(ranking: Sequence[tuple[int, float]]) -> float:
    """How sure BM25 is: the share by which its best score beats its tenth (1.0 when it
    found fewer than ten passages, 0.0 when it found none)."""
    if not ranking or ranking[0][1] <= 0:
        return 0.0
    tenth = ranking[LEAD_RANK - 1][1] if len(ranking) >= LEAD_RANK else 0.0
    return 1.0 - tenth / ranking[0][1]


def open_searcher(index_dir: Path | str, settings: Settings | None = None,
                  model: str | None = None) -> Searcher:
    """Open ``index_dir`` with the model it was built with (or ``model``, checked)."""
    settings = settings or Settings()
    index_dir = Path(index_dir)
    manifest = index.read_manifest(index_dir)
    wanted = model or manifest.model
    index.check_model(manifest, index_dir, resolve_model(wanted).name, None)
    snapshot = index.open_index(index_dir)
    embedder = load_embedder(wanted, settings.batch_size, backend=settings.backend,
                             threads=settings.query_model_threads, cache=settings.model_cache)
    set_threads(settings.query_threads)
    return Searcher(snapshot, embedder, settings.retrieval)
