"""Which sentences of a page to quote: the candidates (from the top passages and from
the sections whose heading matches the intent), each scored by its own and its passage's
similarity with a preference for the intent's section and for the answer type asked for;
the best and its close rivals in one section, in page order; and the list a lead-in
ending in ":" introduces.

Sentence vectors are read from the index when it keeps them; otherwise they are embedded
on first use and kept in a bounded cache, shared by the app's sessions.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from itertools import takewhile
from typing import TYPE_CHECKING, Any, TypeVar

from search.answer_record import Citation
from search.config import AnswerSettings
from search.documents import BREADCRUMB_SEPARATOR, Document, Section
from search.query import Query
from search.question_rules import QuestionRules
from search.retrieval import Hit, Searcher

if TYPE_CHECKING:
    import numpy as np

#: Sentence vectors kept per answerer (1.5 KB each): about 30 MB, hundreds of pages' worth.
SENTENCE_CACHE_SIZE = 20_000
#: List items a lead-in ending in ":" brings with it, at most.
MAX_LIST_ITEMS = 12
#: A word asked about that at most this many of a page's sentences mention brings them in
#: as candidates, wherever the search ranked their passages.
RARE_MENTIONS = 2
K = TypeVar("K")
_LIST_ITEM = re.compile(r"(?:^|\n)[ \t]*(?:[-*•‣◦▪]|\d{1,2}[.)])[ \t]+$")


@dataclass(frozen=True)
class Candidate:
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


class Quoter:
    """Picks the sentences to quote from one index snapshot's pages."""

    def __init__(self, searcher: Searcher, settings: AnswerSettings,
                 rules: QuestionRules) -> None:
        self.searcher = searcher
        self.settings = settings
        self.rules = rules
        self.sentence_vectors: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._rows: dict[tuple[str, tuple[str, ...]], list[int]] | None = None
        self._terms: dict[str, frozenset[str]] = {}
        self._sentence_terms: dict[int, frozenset[str]] = {}
        self._title_terms: dict[str, frozenset[str]] = {}
        self._mentions: dict[str, dict[str, list[int]]] = {}

    def document(self, doc_id: str) -> Document:
        return self.searcher.snapshot.documents[doc_id].document

    def fact(self, candidate: Candidate, answer_type: Any) -> str:
        """What a sentence states of the type asked for ("0808 157 0420"), else itself."""
        text = " ".join(self.document(candidate.doc_id).text[candidate.start:
                                                              candidate.end].split())
        for pattern in (answer_type.values if answer_type else ()):
            found = pattern.search(text)
            if found:
                return re.sub(r"\W", "", found.group()).lower()
        return text

    def section_rows(self, doc_id: str, breadcrumb: tuple[str, ...]) -> list[int]:
        if self._rows is None:
            rows: dict[tuple[str, tuple[str, ...]], list[int]] = {}
            for row, chunk in enumerate(self.searcher.snapshot.chunks):
                rows.setdefault((chunk.doc_id, chunk.breadcrumb), []).append(row)
            self._rows = rows
        return self._rows.get((doc_id, breadcrumb), [])

    def candidates(self, query: Query, hits: tuple[Hit, ...], vector: np.ndarray,
                    document: Document, intent: Any) -> list[Candidate]:
        """The quotable sentences of one page: those of its top passages and of the
        sections whose heading matches the intent, once each (chunks overlap)."""
        quotable = self.searcher.snapshot.sentences
        doc_id = document.doc_id
        owners: dict[int, int] = {}  # sentence position → the row of its first passage
        for hit in hits[: self.settings.source_passages]:
            if hit.chunk.doc_id == doc_id:
                for position in quotable.within(doc_id, hit.chunk.start, hit.chunk.end):
                    owners.setdefault(position, hit.row)
        if intent is not None:
            for section in document.sections:
                if intent.heads(section.heading):
                    for row in self.section_rows(doc_id, section.breadcrumb):
                        chunk = self.searcher.snapshot.chunks[row]
                        for position in quotable.within(doc_id, chunk.start, chunk.end):
                            owners.setdefault(position, row)
        asked = self.asked_of_page(query, document)
        for position, row in self.rare_mentions(asked, document):
            owners.setdefault(position, row)
        if not owners and hits:
            top = next((h for h in hits if h.chunk.doc_id == doc_id), hits[0])
            for position in quotable.within(doc_id, top.chunk.start, top.chunk.end):
                owners.setdefault(position, top.row)
        answer_type = self.rules.answer_type_of(query)
        return self.scored([(doc_id, row, p) for p, row in owners.items()], vector,
                            answer_type, intent, asked)

    def rare_mentions(self, asked: frozenset[str],
                      document: Document) -> list[tuple[int, int]]:
        """(sentence, passage row) of the sentences that alone on the page mention a word
        asked about: "ect drive after tx?" asks about the one sentence that says when you
        may drive, whichever passage the search ranked."""
        quotable, chunks = self.searcher.snapshot.sentences, self.searcher.snapshot.chunks
        mentions = self._mentions.get(document.doc_id)
        if mentions is None:  # each stemmed word of the page → its sentences, once a page
            mentions = self._mentions[document.doc_id] = {}
            for position in quotable.of_document(document.doc_id):
                span = quotable.span(position)
                for term in self.sentence_terms(position, document.text[span.start:span.end]):
                    mentions.setdefault(term, []).append(position)
        found: list[tuple[int, int]] = []
        for position in (p for term in asked if len(mentions.get(term, ())) <= RARE_MENTIONS
                         for p in mentions.get(term, ())):
            span = quotable.span(position)
            found.extend((position, row) for row in self.section_rows(document.doc_id,
                                                                      span.breadcrumb)
                         if chunks[row].start <= span.start and span.end <= chunks[row].end)
        return found

    def scored(self, items: list[tuple[str, int, int]], vector: np.ndarray,
                answer_type: Any, intent: Any,
                asked: frozenset[str] = frozenset()) -> list[Candidate]:
        """(doc, passage row, sentence position) → scored candidates, boilerplate out."""
        import numpy as np

        quotable = self.searcher.snapshot.sentences
        kept = []
        for doc_id, row, position in dict.fromkeys(items):
            span = quotable.span(position)
            document = self.document(doc_id)
            section = document.section_at(span.start)
            text = document.text[span.start:span.end]
            if section is None or self.rules.boilerplate(section.heading, text):
                continue
            kept.append((doc_id, row, position, section, span, text))
        if not kept:
            return []
        sentences = self.vectors_of([k[2] for k in kept]) @ vector  # one model call
        rows = sorted({k[1] for k in kept})
        passages = dict(zip(rows, self.searcher.similarities(vector, rows), strict=True))
        s = self.settings
        candidates = []
        for (doc_id, row, position, section, span, text), similarity in zip(kept, sentences,
                                                                            strict=True):
            carries = bool(answer_type and answer_type.found_in(text))
            in_intent = bool(intent and intent.heads(section.heading))
            words = (len(asked & self.sentence_terms(position, text)) / len(asked)
                     if asked else 0.0)
            score = (0.5 * float(similarity) + 0.5 * float(np.float32(passages[row]))
                     + s.intent_preference * in_intent + s.answer_type_preference * carries
                     + s.asked_words_preference * words)
            candidates.append(Candidate(doc_id, section, row, span.start, span.end,
                                         float(similarity), float(passages[row]), score,
                                         carries, in_intent))
        return candidates

    def choose(self, candidates: list[Candidate], document: Document) -> list[Candidate]:
        """The best sentence and its close rivals in the same section (at most
        ``max_sentences``), in page order, with the list a lead-in introduces."""
        if not candidates:
            return []
        best = max(candidates, key=lambda c: c.score)
        floor = best.score - self.settings.sentence_margin
        rivals = sorted((c for c in candidates if c.score >= floor
                         and c.section == best.section), key=lambda c: -c.score)
        rivals = rivals[: self.settings.max_sentences]
        # A question that asks for a fact quotes it: "how long are the sessions, and is
        # there one on my own?" gets "Sessions last 60 to 75 minutes" beside the best.
        stating = [c for c in candidates if c.carries_type and c.section == best.section]
        if stating and not any(c.carries_type for c in rivals):
            rivals = [*rivals[: self.settings.max_sentences - 1],
                      max(stating, key=lambda c: c.score)]
        return self.with_list(best, rivals, document)

    def with_list(self, best: Candidate, chosen: list[Candidate],
                   document: Document) -> list[Candidate]:
        """A lead-in such as "CBT can help with:" is useless without its list, and a list
        item without its lead-in: each brings the other. A lead-in followed by a plain
        paragraph ("...or telephone:", then the number) brings that paragraph."""
        quotable = self.searcher.snapshot.sentences
        text = document.text
        positions = quotable.within(document.doc_id, best.section.start, best.section.end)
        spans = [quotable.span(p) for p in positions]
        extra: list[Candidate] = []
        for candidate in list(chosen):
            index = next((i for i, s in enumerate(spans) if s.start == candidate.start), None)
            if index is None:
                continue
            lead = index
            while lead > 0 and is_item(text, spans[lead].start):
                lead -= 1
            if not text[spans[lead].start:spans[lead].end].rstrip().endswith(":"):
                continue
            following = spans[lead + 1:lead + 1 + MAX_LIST_ITEMS]
            if following and is_item(text, following[0].start):
                following = list(takewhile(lambda s: is_item(text, s.start), following))
            else:  # "...or telephone:", then the number on a line of its own
                following = following[:1]
            extra.extend(replace(candidate, start=span.start, end=span.end)
                         for span in (spans[lead], *following))
        merged = {(c.start, c.end): c for c in (*chosen, *extra)}
        return sorted(merged.values(), key=lambda c: c.start)

    def vectors_of(self, positions: list[int]) -> np.ndarray:
        """Sentence vectors, embedded as the model saw chunks: with their breadcrumb.
        Read from the index when it was built with them, else embedded now and cached.
        The app's sessions share one answerer from several threads: hence the lock."""
        import numpy as np

        stored = self.searcher.snapshot.sentences.vectors_of(positions)
        if stored is not None:
            return stored
        cache = self.sentence_vectors
        with self._cache_lock:
            found = {p: cache[p] for p in positions if p in cache}
        missing = [p for p in positions if p not in found]
        if missing:
            spans = [self.searcher.snapshot.sentences.span(p) for p in missing]
            texts = [s.embedding_text(self.document(s.doc_id).text) for s in spans]
            found.update(zip(missing, self.searcher.embedder.embed_documents(texts),
                             strict=True))
        with self._cache_lock:
            for position in positions:
                cache[position] = found[position]
                cache.move_to_end(position)
            while len(cache) > SENTENCE_CACHE_SIZE:
                cache.popitem(last=False)
        return np.vstack([found[p] for p in positions])

    def page_terms(self, document: Document) -> frozenset[str]:
        """The stemmed content words of a page and its title, worked out once per page."""
        return _terms_of(self._terms, document.doc_id,
                         lambda: f"{document.title}\n{document.text}")

    def asked_of_page(self, query: Query, document: Document) -> frozenset[str]:
        """What the question asks about besides the page's treatment: "what are the four
        skills modules in DBT" → four, skill, modul on the DBT page."""
        title = _terms_of(self._title_terms, document.doc_id, lambda: document.title)
        return frozenset(query.asked_terms) - query.naming_terms - title

    def intent_on(self, query: Query, document: Document, intent: Any) -> Any:
        """The intent to prefer a section by on this page. An intent about the treatment
        itself ("what is it?") is not what "what is a mental state examination?" asks
        on the psychiatric assessment page: that asks about something the page names."""
        if intent is not None and intent.of_the_treatment and self.asked_of_page(query,
                                                                                  document):
            return None
        return intent

    def sentence_terms(self, position: int, text: str) -> frozenset[str]:
        """The stemmed content words of a quotable sentence, worked out once each."""
        return _terms_of(self._sentence_terms, position, lambda: text)

    def citation(self, n: int, candidate: Candidate) -> Citation:
        """Citation ``n`` of a quoted sentence: its passage, section, page and exact span."""
        chunk = self.searcher.snapshot.chunks[candidate.row]
        document = self.document(candidate.doc_id)
        return Citation(n, chunk.chunk_id, chunk.doc_id, chunk.source, chunk.title,
                        BREADCRUMB_SEPARATOR.join(candidate.section.breadcrumb),
                        document.page_at(candidate.start), candidate.start, candidate.end,
                        document.text[candidate.start:candidate.end])


def _terms_of(cache: dict[K, frozenset[str]], key: K, text: Callable[[], str]) -> frozenset[str]:
    """The stemmed content words of ``text()``, kept in ``cache`` under ``key``."""
    terms = cache.get(key)
    if terms is None:
        from search.lexical import content_terms

        terms = cache[key] = frozenset(content_terms(text()))
    return terms


def is_item(text: str, start: int) -> bool:
    """Whether the sentence starting at ``start`` is a list item ("- ", "1. ", "• ")."""
    return bool(_LIST_ITEM.search(text[max(0, start - 12):start]))
