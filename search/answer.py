"""Hits → an Answer: verbatim sentences from the best passages, each cited, or a refusal.

The crisis check runs before retrieval, on the caller's own words. An approved answer that
matches the question closely is returned word for word. Otherwise the sentences of the top
passages of the top-ranked document (read from the index when it was built with
``embed_sentences_at_ingest``; else embedded on first use and kept in a bounded cache,
because embedding them all at ingest doubles its cost) are scored against the question
(sentence and passage similarity, half each); the best one and any within
``sentence_margin`` of it are quoted in document order. When the best falls below
``min_confidence`` the answer is "not covered", with the nearest passages still listed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from search.approved import ApprovedAnswer, load_approved_answers
from search.config import AnswerSettings
from search.documents import BREADCRUMB_SEPARATOR, Document
from search.retrieval import Filters, Hit, Searcher, clean_query
from search.safety import Safety, load_crisis_check

if TYPE_CHECKING:
    import numpy as np

NOT_COVERED = "Not covered by our content."
#: Sentence vectors kept per answerer (1.5 KB each): about 30 MB, hundreds of pages' worth.
SENTENCE_CACHE_SIZE = 20_000


@dataclass(frozen=True)
class Citation:
    n: int
    chunk_id: str
    doc_id: str
    source: str
    title: str
    section: str
    page: int | None
    #: The quote's span in the document's loaded text: ``text[start:end] == quote``.
    start: int
    end: int
    quote: str


@dataclass(frozen=True)
class AnswerSentence:
    text: str
    citations: tuple[int, ...]


@dataclass(frozen=True)
class Answer:
    question: str
    answered: bool
    answer: str
    sentences: tuple[AnswerSentence, ...]
    citations: tuple[Citation, ...]
    passages: tuple[Hit, ...]
    confidence: float
    approved: bool
    safety: Safety

    def as_dict(self) -> dict[str, Any]:
        return {
            "question": self.question, "answered": self.answered, "answer": self.answer,
            "sentences": [{"text": s.text, "citations": list(s.citations)}
                          for s in self.sentences],
            "citations": [vars(c).copy() for c in self.citations],
            "passages": [h.as_dict() for h in self.passages],
            "confidence": round(self.confidence, 4), "approved": self.approved,
            "safety": self.safety.as_dict(),
        }


@dataclass(frozen=True)
class _Candidate:
    hit: Hit
    start: int
    end: int
    score: float = 0.0


class Answerer:
    """Answers questions from one Searcher's index."""

    def __init__(self, searcher: Searcher, settings: AnswerSettings | None = None) -> None:
        self.searcher = searcher
        self.settings = settings or AnswerSettings()
        self.crisis = load_crisis_check(self.settings.crisis_guidance, self.settings.safety_file)
        self.approved = load_approved_answers(self.settings.approved_answers)
        self._approved_vectors: np.ndarray | None = None
        self._sentence_vectors: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()

    def ask(self, question: str, *, mode: str | None = None,
            filters: Filters | None = None) -> Answer:
        asked = question
        question = clean_query(question)
        expansion = self.searcher.expand(self._in_context(question, filters))
        vector = self.searcher.query_vector(expansion)
        # Before retrieval, on the caller's own words; the query's vector is reused when
        # it was made from exactly those words (whitespace aside).
        own_words = expansion.text == question and not self.searcher.settings.expand_dense
        safety = self.crisis.check(asked, self.searcher.embedder,
                                   vector if own_words else None)
        hits = tuple(self.searcher.search(expansion.text, self.settings.passages, mode=mode,
                                          filters=filters, vector=vector))
        approved = self._approved_match(vector, filters)
        if approved is not None:
            return self._approved_answer(question, approved, hits, safety)
        candidates = self._candidates(hits, vector)
        chosen = self._choose(candidates)
        confidence = max((c.score for c in chosen), default=0.0)
        if not chosen or confidence < self.settings.min_confidence:
            return Answer(question, False, NOT_COVERED, (), (), hits, confidence, False, safety)
        citations = tuple(self._citation(n, c) for n, c in enumerate(chosen, start=1))
        sentences = tuple(AnswerSentence(c.quote, (c.n,)) for c in citations)
        text = " ".join(f"{s.text} [{s.citations[0]}]" for s in sentences)
        return Answer(question, True, text, sentences, citations, hits, confidence, False, safety)

    # --- sentences ----------------------------------------------------------------------

    def _document(self, doc_id: str) -> Document:
        return self.searcher.snapshot.documents[doc_id].document

    def _candidates(self, hits: tuple[Hit, ...], vector: np.ndarray) -> list[_Candidate]:
        """The quotable sentences of the top passages of the top document, once each
        (chunks overlap), scored by their own similarity to the question and their
        passage's, half each."""
        import numpy as np

        store = self.searcher.snapshot.sentences
        # Quote only the document the ranker put first: mixing pages (CBT and CBT for
        # psychosis, say) would give a caller one treatment's facts under another's name.
        top_doc = hits[0].chunk.doc_id if hits else None
        owners: dict[int, tuple[Hit, float]] = {}  # sentence → its first passage, score
        for hit in hits[: self.settings.source_passages]:
            if hit.chunk.doc_id != top_doc:
                continue
            passage = float(np.dot(self.searcher.snapshot.vectors.reconstruct(hit.row), vector))
            for position in store.within(hit.chunk.doc_id, hit.chunk.start, hit.chunk.end):
                owners.setdefault(position, (hit, passage))
        if not owners:
            return []
        positions = list(owners)
        scores = self._vectors_of(positions) @ vector  # one model call for all of them
        candidates = []
        for position, score in zip(positions, scores, strict=True):
            hit, passage = owners[position]
            span = store.span(position)
            candidates.append(_Candidate(hit, span.start, span.end,
                                         0.5 * float(score) + 0.5 * passage))
        return candidates

    def _vectors_of(self, positions: list[int]) -> np.ndarray:
        """Sentence vectors, embedded as the model saw chunks: with their breadcrumb.
        Read from the index when it was built with them, else embedded now and cached.
        The app's sessions share one answerer from several threads: hence the lock."""
        import numpy as np

        stored = self.searcher.snapshot.sentences.vectors_of(positions)
        if stored is not None:
            return stored
        cache = self._sentence_vectors
        with self._cache_lock:
            found = {p: cache[p] for p in positions if p in cache}
        missing = [p for p in positions if p not in found]
        if missing:
            spans = [self.searcher.snapshot.sentences.span(p) for p in missing]
            texts = [s.embedding_text(self._document(s.doc_id).text) for s in spans]
            found.update(zip(missing, self.searcher.embedder.embed_documents(texts),
                             strict=True))
        with self._cache_lock:
            for position in positions:
                cache[position] = found[position]
                cache.move_to_end(position)
            while len(cache) > SENTENCE_CACHE_SIZE:
                cache.popitem(last=False)
        return np.vstack([found[p] for p in positions])

    def _choose(self, candidates: list[_Candidate]) -> list[_Candidate]:
        """The best sentence and its close rivals (at most ``max_sentences``), in page
        order. All candidates come from one document (``_candidates``)."""
        if not candidates:
            return []
        best = max(candidates, key=lambda c: c.score)
        floor = best.score - self.settings.sentence_margin
        rivals = sorted((c for c in candidates if c.score >= floor), key=lambda c: -c.score)
        chosen = rivals[: self.settings.max_sentences]
        text = self._document(best.hit.chunk.doc_id).text
        # A lead-in such as "Call us free on:" is useless without the line that follows.
        for candidate in list(chosen):
            if text[candidate.start:candidate.end].rstrip().endswith(":"):
                following = [c for c in candidates if c.start > candidate.end]
                if following:
                    nxt = min(following, key=lambda c: c.start)
                    if nxt not in chosen and len(chosen) < self.settings.max_sentences:
                        chosen.append(nxt)
        return sorted(chosen, key=lambda c: c.start)

    def _citation(self, n: int, candidate: _Candidate) -> Citation:
        chunk = candidate.hit.chunk
        document = self._document(chunk.doc_id)
        return Citation(n, chunk.chunk_id, chunk.doc_id, chunk.source, chunk.title,
                        chunk.breadcrumb, document.page_at(candidate.start), candidate.start,
                        candidate.end, document.text[candidate.start:candidate.end])

    # --- approved answers -----------------------------------------------------------------

    def _in_context(self, question: str, filters: Filters | None) -> str:
        """With one treatment chosen, "who is it for?" means "who is CBT for?": the
        treatment's title is added when the question does not name it already."""
        if filters is None or len(filters.doc_ids) != 1:
            return question
        (doc_id,) = filters.doc_ids
        stored = self.searcher.snapshot.documents.get(doc_id)
        if stored is None or doc_id in self.searcher.named_documents(question):
            return question
        return f"{question} ({stored.document.title})"

    def _approved_match(self, vector: np.ndarray,
                        filters: Filters | None) -> ApprovedAnswer | None:
        if not self.approved:
            return None
        import numpy as np

        if self._approved_vectors is None:
            texts = [self.searcher.query_text(self.searcher.expand(q))
                     for item in self.approved for q in item.questions]
            self._approved_vectors = self.searcher.embedder.embed_documents(texts)
        owners = [item for item in self.approved for _ in item.questions]
        scores = self._approved_vectors @ vector
        best = int(np.argmax(scores))
        if scores[best] < self.settings.approved_threshold:
            return None
        approved = owners[best]
        if filters and filters.doc_ids and approved.doc_id not in filters.doc_ids:
            return None  # outside what the user chose to look at
        return approved

    def _approved_answer(self, question: str, approved: ApprovedAnswer, hits: tuple[Hit, ...],
                         safety: Safety) -> Answer:
        citations: tuple[Citation, ...] = ()
        stored = self.searcher.snapshot.documents.get(approved.doc_id)
        section = next((s for s in stored.document.sections if s.slug == approved.section_slug),
                       None) if stored else None
        if stored is not None and section is not None:
            document = stored.document
            chunk = next((c for c in self.searcher.snapshot.chunks
                          if c.doc_id == document.doc_id and c.section == section.breadcrumb),
                         None)
            citations = (Citation(
                1, chunk.chunk_id if chunk else approved.source, document.doc_id,
                document.source, document.title, BREADCRUMB_SEPARATOR.join(section.breadcrumb),
                document.page_at(section.start), section.start, section.end,
                document.text[section.start:section.end]),)
        marker = " [1]" if citations else ""
        sentence = AnswerSentence(approved.answer, (1,) if citations else ())
        return Answer(question, True, approved.answer + marker, (sentence,), citations, hits,
                      1.0, True, safety)
