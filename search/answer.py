"""A Query and its Hits → an Answer: verbatim sentences from one page, each cited, or a
refusal that says what is missing.

The question is analysed once (``search.query``); the crisis check reads the whole message
first. An approved answer that matches the question closely is returned word for word. A
question about the service that names no treatment ("number to book?") is answered from
the sentence most pages share in the sections of its intent. Otherwise the answer comes
from one page: the first ranked page the question names, or that has a section for its
intent. Its sentences (from the top passages and from the sections whose heading matches
the intent) are scored by their own and their passage's similarity, with a preference for
the intent's section and for sentences carrying the answer type asked for; the best and
its close rivals in the same section are quoted in page order, and a lead-in ending in ":"
brings its list. Whether that answers the question is decided by ``search.answerability``.

Sentence vectors are read from the index (by default it keeps them, pooled from each
chunk's forward pass at ingest); an index built without them has them embedded on first
use and kept in a bounded cache.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from search.answerability import Evidence, load_answerability_model
from search.approved import ApprovedAnswer, load_approved_answers
from search.config import AnswerSettings
from search.documents import BREADCRUMB_SEPARATOR, Document, Section
from search.query import Query
from search.retrieval import Filters, Hit, Searcher
from search.safety import Safety, load_crisis_check

if TYPE_CHECKING:
    import numpy as np

NOT_COVERED = "Not covered by our content."
NOT_ENGLISH = "We answer in English."
#: Sentence vectors kept per answerer (1.5 KB each): about 30 MB, hundreds of pages' worth.
SENTENCE_CACHE_SIZE = 20_000
#: List items a lead-in ending in ":" brings with it, at most.
MAX_LIST_ITEMS = 12
_LIST_ITEM = re.compile(r"(?:^|\n)[ \t]*(?:[-*•‣◦▪]|\d{1,2}[.)])[ \t]+$")


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
    #: The answerability model's probability that the quoted sentences answer it.
    confidence: float
    approved: bool
    safety: Safety
    #: Why it was refused ("Our CBT page does not give a price"); empty when answered.
    reason: str = ""
    #: What a reader should know about how it was answered (another treatment than the
    #: one chosen, the part of a long message used, the service-wide answer).
    notice: str = ""
    query: Query | None = None
    evidence: Evidence | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "question": self.question, "answered": self.answered, "answer": self.answer,
            "reason": self.reason, "notice": self.notice,
            "sentences": [{"text": s.text, "citations": list(s.citations)}
                          for s in self.sentences],
            "citations": [vars(c).copy() for c in self.citations],
            "passages": [h.as_dict() for h in self.passages],
            "confidence": round(self.confidence, 4), "approved": self.approved,
            "safety": self.safety.as_dict(),
            "analysis": self.query.as_dict() if self.query else None,
            "evidence": self.evidence.as_dict() if self.evidence else None,
        }


@dataclass(frozen=True)
class _Candidate:
    doc_id: str
    section: Section
    row: int
    start: int
    end: int
    sentence: float = 0.0
    passage: float = 0.0
    score: float = 0.0
    carries_type: bool = False
    in_intent: bool = False


class Answerer:
    """Answers questions from one Searcher's index."""

    def __init__(self, searcher: Searcher, settings: AnswerSettings | None = None) -> None:
        self.searcher = searcher
        self.settings = settings or AnswerSettings()
        self.rules = searcher.rules
        self.crisis = load_crisis_check(self.settings.crisis_guidance, self.settings.safety_file)
        self.approved = load_approved_answers(self.settings.approved_answers)
        self.model = load_answerability_model(self.settings.answerability_model)
        self._approved_vectors: np.ndarray | None = None
        self._sentence_vectors: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._rows: dict[tuple[str, tuple[str, ...]], list[int]] | None = None
        self._terms: dict[str, frozenset[str]] = {}

    def ask(self, question: str, *, mode: str | None = None,
            filters: Filters | None = None) -> Answer:
        subject = self._subject(filters)
        query = self.searcher.analyse(question, subject)
        filters, notices = self._scope(query, filters)
        vector = self.searcher.query_vector(query)
        own_words = (query.expansion.text == query.asked
                     and not self.searcher.settings.expand_dense)
        safety = self.crisis.check(query.asked, self.searcher.embedder,
                                   vector if own_words else None)
        ranked = self.searcher.ranked(query, self.settings.passages, mode=mode,
                                      filters=filters, vector=vector)
        hits = tuple(ranked.hits)
        # The rankers' agreement is evidence for answerability; a single-ranker mode
        # has to ask both rankers for it.
        agree = ranked.rankers_agree if ranked.rankers_agree is not None else \
            self.searcher.rank_agreement(query, vector, filters)
        if query.excerpted:
            notices.append(f"Your message is long: the answer is for its question part, "
                           f"“{query.text}”.")
        base = Answer(query.asked, False, NOT_COVERED, (), (), hits, 0.0, False, safety,
                      notice=" ".join(notices), query=query)
        if not query.english:
            return replace(base, answer=NOT_ENGLISH, reason=(
                f"The question seems not to be in English (detected: {query.language}). We "
                "answer in English only; the nearest passages are listed."))
        approved = self._approved_match(vector, filters)
        if approved is not None and (not query.treatments
                                     or approved.doc_id in query.treatments):
            return self._approved_answer(base, approved)
        intent = self.rules.intents.get(query.intent or "")
        # A caller in crisis asking whom to ring gets the crisis page's numbers, however
        # much else the message says.
        if intent is not None and intent.service and (
                query.about_the_service or (safety.crisis and not query.treatments)) and not (
                filters and filters.doc_ids):
            return self._service_answer(base, query, vector, filters, safety, agree)
        return self._page_answer(base, query, vector, agree)

    # --- scope ------------------------------------------------------------------------

    def _subject(self, filters: Filters | None) -> str | None:
        if filters is None or len(filters.doc_ids) != 1:
            return None
        stored = self.searcher.snapshot.documents.get(next(iter(filters.doc_ids)))
        return stored.document.title if stored else None

    def _scope(self, query: Query, filters: Filters | None) -> tuple[Filters | None, list[str]]:
        """A question naming another treatment than the one chosen is answered for the
        treatment named, and says so."""
        if not (filters and filters.doc_ids and query.treatments) or (
                query.treatments & filters.doc_ids):
            return filters, []
        documents = self.searcher.snapshot.documents
        named = " and ".join(sorted(documents[d].document.title for d in query.treatments))
        chosen = " and ".join(sorted(documents[d].document.title for d in filters.doc_ids
                                     if d in documents))
        return (replace(filters, doc_ids=frozenset(query.treatments)),
                [f"You asked about {named}, so this answer is from that page, not from "
                 f"{chosen}, which is chosen in the sidebar."])

    # --- one page ---------------------------------------------------------------------

    def _page_answer(self, base: Answer, query: Query, vector: np.ndarray,
                     agree: bool) -> Answer:
        hits = base.passages
        if not hits:
            return replace(base, reason="Nothing in our content matches this question.")
        intent = self.rules.intents.get(query.intent or "")
        answer_type = self.rules.answer_types.get(query.answer_type or "")
        doc_id = self._page(query, hits, intent)
        document = self._document(doc_id)
        sections = [s for s in document.sections if not self.rules.boilerplate(s.heading)]
        if intent is not None and not any(intent.heads(s.heading) for s in sections):
            return replace(base, reason=f"Our {document.title} page does not say "
                                        f"{intent.label}.")
        if answer_type is not None and not any(
                answer_type.found_in(document.text[s.start:s.end]) for s in sections):
            return replace(base, reason=f"Our {document.title} page does not give "
                                        f"{answer_type.label}.")
        candidates = self._candidates(query, hits, vector, document, intent)
        chosen = self._choose(candidates, document)
        if not chosen:
            return replace(base, reason=f"Our {document.title} page has nothing to quote.")
        # The page the question names, its section for the intent, and a sentence there
        # with the very fact asked for ("cbt waitng time?"): that answers it.
        stated = (doc_id in query.treatments and answer_type is not None
                  and any(c.in_intent and c.carries_type for c in chosen))
        return self._decide(base, query, chosen, agree, stated=stated)

    def _page(self, query: Query, hits: tuple[Hit, ...], intent: Any) -> str:
        """The page to quote: the first ranked one the question names; else the first of
        the top three that has a section for the intent; else the first."""
        docs = list(dict.fromkeys(h.chunk.doc_id for h in hits))
        named = [d for d in docs if d in query.treatments]
        if named:
            return named[0]
        if intent is not None:
            for doc_id in docs[:3]:
                if any(intent.heads(s.heading) for s in self._document(doc_id).sections):
                    return doc_id
        return docs[0]

    def _decide(self, base: Answer, query: Query, chosen: list[_Candidate], agree: bool,
                notice: str = "", stated: bool = False) -> Answer:
        """Quote ``chosen`` if the model says it answers; ``stated``: the sentences state
        the very fact asked for, in a section of the intent, which answers whatever the
        similarity of a question as short as "number to book?" or "cbt waitng time?"."""
        best = max(chosen, key=lambda c: c.score)
        document = self._document(best.doc_id)
        evidence = self._evidence(query, chosen, best, document, agree)
        probability = self.model.probability(evidence)
        base = replace(base, confidence=probability, evidence=evidence,
                       notice=" ".join(n for n in (base.notice, notice) if n))
        if probability < self.model.threshold and not stated:
            where = BREADCRUMB_SEPARATOR.join(best.section.breadcrumb)
            return replace(base, reason=(
                f"Our pages do not answer this closely enough to quote (confidence "
                f"{probability:.2f}); the nearest is {where}."))
        citations = tuple(self._citation(n, c) for n, c in enumerate(chosen, start=1))
        sentences = tuple(AnswerSentence(c.quote, (c.n,)) for c in citations)
        text = " ".join(f"{s.text} [{s.citations[0]}]" for s in sentences)
        return replace(base, answered=True, answer=text, sentences=sentences,
                       citations=citations)

    def _evidence(self, query: Query, chosen: list[_Candidate], best: _Candidate,
                  document: Document, agree: bool) -> Evidence:
        from search.lexical import content_terms  # the words BM25 compares, stemmed

        section = best.section
        words = set(content_terms(query.expansion.text))
        body = set(content_terms(" ".join((*section.breadcrumb,
                                           document.text[section.start:section.end]))))
        named = 0.0 if not query.treatments else (1.0 if best.doc_id in query.treatments
                                                  else -1.0)
        return Evidence(
            sentence=best.sentence, passage=best.passage,
            intent=0.5 if query.intent is None else float(best.in_intent),
            answer_type=0.5 if query.answer_type is None else float(
                any(c.carries_type for c in chosen)),
            words=len(words & body) / len(words) if words else 0.0,
            asked=(sum(t in self._page_terms(document) for t in query.asked_terms)
                   / len(query.asked_terms)) if query.asked_terms else 1.0,
            agree=float(agree),
            named=named)

    # --- the service as a whole --------------------------------------------------------

    def _service_answer(self, base: Answer, query: Query, vector: np.ndarray,
                        filters: Filters | None, safety: Safety, agree: bool) -> Answer:
        """What most pages say in the sections of the question's intent ("number to
        book?"); in a crisis, what the crisis pages say."""
        intent = self.rules.intents[query.intent or ""]
        answer_type = self.rules.answer_types.get(query.answer_type or "")
        scope = replace(filters or Filters(), headings=intent.headings)
        if safety.crisis:
            crisis_docs = frozenset(d for d, s in self.searcher.snapshot.documents.items()
                                    if self.rules.crisis_page(s.document.title))
            if crisis_docs:
                scope = replace(scope, doc_ids=crisis_docs)
        hits = tuple(self.searcher.search(query, self.settings.service_passages,
                                          filters=scope, vector=vector))
        candidates = [c for c in self._scored(
            [(h.chunk.doc_id, h.row, p) for h in hits
             for p in self.searcher.snapshot.sentences.within(h.chunk.doc_id, h.chunk.start,
                                                              h.chunk.end)],
            vector, answer_type, intent) if answer_type is None or c.carries_type]
        if not candidates:
            missing = answer_type.label if answer_type else intent.label
            return replace(base, reason=f"Our pages do not give {missing} for the service "
                                        "as a whole.")
        best = max(candidates, key=lambda c: c.score)
        if safety.crisis:  # every number of the crisis page's section, in page order
            chosen = sorted((c for c in candidates if c.section == best.section
                             and c.doc_id == best.doc_id), key=lambda c: c.start)
            chosen = chosen[: self.settings.max_sentences]
            return self._decide(base, query, chosen, agree, stated=answer_type is not None)
        close = [c for c in candidates if c.score >= best.score - self.settings.sentence_margin]
        # The fact most pages give (the same phone number, whatever the sentence around it).
        pages_of: dict[str, set[str]] = {}
        for c in candidates:
            pages_of.setdefault(self._fact(c, answer_type), set()).add(c.doc_id)
        shared = max(close, key=lambda c: (len(pages_of[self._fact(c, answer_type)]), c.score))
        document = self._document(shared.doc_id)
        chosen = self._with_list(shared, [shared], document)
        pages = len(pages_of[self._fact(shared, answer_type)])
        notice = (f"{pages} of our pages give this." if pages > 1 else "")
        # Stated, but maybe of something else: "is the hospital chapel open on sundays?"
        # is not answered by the referral line's hours when no page names a chapel.
        lexical = self.searcher.snapshot.lexical
        stated = (answer_type is not None and any(c.carries_type for c in chosen)
                  and all(lexical.has_term(t) for t in query.asked_terms))
        return self._decide(base, query, chosen, agree, notice, stated)

    # --- sentences ----------------------------------------------------------------------

    def _page_terms(self, document: Document) -> frozenset[str]:
        """The stemmed content words of a page and its title, worked out once per page."""
        terms = self._terms.get(document.doc_id)
        if terms is None:
            from search.lexical import content_terms

            terms = frozenset(content_terms(f"{document.title}\n{document.text}"))
            self._terms[document.doc_id] = terms
        return terms

    def _document(self, doc_id: str) -> Document:
        return self.searcher.snapshot.documents[doc_id].document

    def _fact(self, candidate: _Candidate, answer_type: Any) -> str:
        """What a sentence states of the type asked for ("0808 157 0420"), else itself."""
        text = " ".join(self._document(candidate.doc_id).text[candidate.start:
                                                              candidate.end].split())
        for pattern in (answer_type.values if answer_type else ()):
            found = pattern.search(text)
            if found:
                return re.sub(r"\W", "", found.group()).lower()
        return text

    def _section_rows(self, doc_id: str, breadcrumb: tuple[str, ...]) -> list[int]:
        if self._rows is None:
            rows: dict[tuple[str, tuple[str, ...]], list[int]] = {}
            for row, chunk in enumerate(self.searcher.snapshot.chunks):
                rows.setdefault((chunk.doc_id, chunk.section), []).append(row)
            self._rows = rows
        return self._rows.get((doc_id, breadcrumb), [])

    def _candidates(self, query: Query, hits: tuple[Hit, ...], vector: np.ndarray,
                    document: Document, intent: Any) -> list[_Candidate]:
        """The quotable sentences of one page: those of its top passages and of the
        sections whose heading matches the intent, once each (chunks overlap)."""
        store = self.searcher.snapshot.sentences
        doc_id = document.doc_id
        owners: dict[int, int] = {}  # sentence position → the row of its first passage
        for hit in hits[: self.settings.source_passages]:
            if hit.chunk.doc_id == doc_id:
                for position in store.within(doc_id, hit.chunk.start, hit.chunk.end):
                    owners.setdefault(position, hit.row)
        if intent is not None:
            for section in document.sections:
                if intent.heads(section.heading):
                    for row in self._section_rows(doc_id, section.breadcrumb):
                        chunk = self.searcher.snapshot.chunks[row]
                        for position in store.within(doc_id, chunk.start, chunk.end):
                            owners.setdefault(position, row)
        if not owners and hits:
            top = next((h for h in hits if h.chunk.doc_id == doc_id), hits[0])
            for position in store.within(doc_id, top.chunk.start, top.chunk.end):
                owners.setdefault(position, top.row)
        answer_type = self.rules.answer_types.get(query.answer_type or "")
        return self._scored([(doc_id, row, p) for p, row in owners.items()], vector,
                            answer_type, intent)

    def _scored(self, items: list[tuple[str, int, int]], vector: np.ndarray,
                answer_type: Any, intent: Any) -> list[_Candidate]:
        """(doc, passage row, sentence position) → scored candidates, boilerplate out."""
        import numpy as np

        store = self.searcher.snapshot.sentences
        kept = []
        for doc_id, row, position in dict.fromkeys(items):
            span = store.span(position)
            document = self._document(doc_id)
            section = document.section_at(span.start)
            text = document.text[span.start:span.end]
            if section is None or self.rules.boilerplate(section.heading, text):
                continue
            kept.append((doc_id, row, position, section, span, text))
        if not kept:
            return []
        sentences = self._vectors_of([k[2] for k in kept]) @ vector  # one model call
        rows = sorted({k[1] for k in kept})
        passages = dict(zip(rows, (self.searcher.snapshot.vectors.reconstruct(r) @ vector
                                   for r in rows), strict=True))
        s = self.settings
        candidates = []
        for (doc_id, row, _, section, span, text), similarity in zip(kept, sentences,
                                                                     strict=True):
            carries = bool(answer_type and answer_type.found_in(text))
            in_intent = bool(intent and intent.heads(section.heading))
            score = (0.5 * float(similarity) + 0.5 * float(np.float32(passages[row]))
                     + s.intent_preference * in_intent + s.answer_type_preference * carries)
            candidates.append(_Candidate(doc_id, section, row, span.start, span.end,
                                         float(similarity), float(passages[row]), score,
                                         carries, in_intent))
        return candidates

    def _choose(self, candidates: list[_Candidate], document: Document) -> list[_Candidate]:
        """The best sentence and its close rivals in the same section (at most
        ``max_sentences``), in page order, with the list a lead-in introduces."""
        if not candidates:
            return []
        best = max(candidates, key=lambda c: c.score)
        floor = best.score - self.settings.sentence_margin
        rivals = sorted((c for c in candidates if c.score >= floor
                         and c.section == best.section), key=lambda c: -c.score)
        return self._with_list(best, rivals[: self.settings.max_sentences], document)

    def _with_list(self, best: _Candidate, chosen: list[_Candidate],
                   document: Document) -> list[_Candidate]:
        """A lead-in such as "CBT can help with:" is useless without its list, and a list
        item without its lead-in: each brings the other."""
        store = self.searcher.snapshot.sentences
        text = document.text
        positions = store.within(document.doc_id, best.section.start, best.section.end)
        spans = [store.span(p) for p in positions]
        extra: list[_Candidate] = []
        for candidate in list(chosen):
            index = next((i for i, s in enumerate(spans) if s.start == candidate.start), None)
            if index is None:
                continue
            lead = index
            while lead > 0 and _is_item(text, spans[lead].start):
                lead -= 1
            if not text[spans[lead].start:spans[lead].end].rstrip().endswith(":"):
                continue
            for span in spans[lead:lead + 1 + MAX_LIST_ITEMS]:
                if span is not spans[lead] and not _is_item(text, span.start):
                    break
                extra.append(replace(candidate, start=span.start, end=span.end))
        merged = {(c.start, c.end): c for c in (*chosen, *extra)}
        return sorted(merged.values(), key=lambda c: c.start)

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

    def _citation(self, n: int, candidate: _Candidate) -> Citation:
        chunk = self.searcher.snapshot.chunks[candidate.row]
        document = self._document(candidate.doc_id)
        return Citation(n, chunk.chunk_id, chunk.doc_id, chunk.source, chunk.title,
                        BREADCRUMB_SEPARATOR.join(candidate.section.breadcrumb),
                        document.page_at(candidate.start), candidate.start, candidate.end,
                        document.text[candidate.start:candidate.end])

    # --- approved answers -----------------------------------------------------------------

    def _approved_match(self, vector: np.ndarray,
                        filters: Filters | None) -> ApprovedAnswer | None:
        if not self.approved:
            return None
        import numpy as np

        if self._approved_vectors is None:
            texts = [self.searcher.model_text(self.searcher.analyse(q))
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

    def _approved_answer(self, base: Answer, approved: ApprovedAnswer) -> Answer:
        citations: tuple[Citation, ...] = ()
        stored = self.searcher.snapshot.documents.get(approved.doc_id)
        section = next((s for s in stored.document.sections if s.slug == approved.section_slug),
                       None) if stored else None
        if stored is not None and section is not None:
            document = stored.document
            rows = self._section_rows(document.doc_id, section.breadcrumb)
            chunk_id = self.searcher.snapshot.chunks[rows[0]].chunk_id if rows \
                else approved.source
            citations = (Citation(
                1, chunk_id, document.doc_id, document.source, document.title,
                BREADCRUMB_SEPARATOR.join(section.breadcrumb), document.page_at(section.start),
                section.start, section.end, document.text[section.start:section.end]),)
        marker = " [1]" if citations else ""
        sentence = AnswerSentence(approved.answer, (1,) if citations else ())
        return replace(base, answered=True, answer=approved.answer + marker,
                       sentences=(sentence,), citations=citations, confidence=1.0,
                       approved=True)


def _is_item(text: str, start: int) -> bool:
    """Whether the sentence starting at ``start`` is a list item ("- ", "1. ", "• ")."""
    return bool(_LIST_ITEM.search(text[max(0, start - 12):start]))
