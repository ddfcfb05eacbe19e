"""A Query and its Hits → an Answer: verbatim sentences from one page, each cited, or a
refusal that says what is missing.

The question is analysed once (``search.query``); the crisis check reads the whole message
first. An approved answer that matches the question closely is returned word for word. A
question about the service that names no treatment ("number to book?") is answered from
the sentence most pages share in the sections of its intent. Otherwise the answer comes
from one page (``search.page_choice``): ``search.quoting`` picks its sentences, and
``search.answerability`` decides whether they answer the question.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from search.answer_record import NOT_COVERED, NOT_ENGLISH, Answer, AnswerSentence, Citation
from search.answerability import load_answerability_model, weigh
from search.approved import ApprovedAnswer, ApprovedMatcher, load_approved_answers
from search.comparison import comparison
from search.config import AnswerSettings
from search.documents import BREADCRUMB_SEPARATOR, Chunk
from search.facts import FactCheck
from search.index import StoredDocument
from search.page_choice import answering_page
from search.query import Query
from search.quoting import Candidate, Quoter
from search.retrieval import Filters, Searcher
from search.safety import Safety, load_crisis_check

if TYPE_CHECKING:
    import numpy as np

__all__ = ["NOT_COVERED", "NOT_ENGLISH", "Answer", "AnswerSentence", "Answerer", "Citation"]

#: Passages of a named page put first when the search ranked none of them.
NAMED_PASSAGES = 3


class Answerer:
    """Answers questions from one Searcher's index."""

    def __init__(self, searcher: Searcher, settings: AnswerSettings | None = None) -> None:
        self.searcher = searcher
        self.settings = settings or AnswerSettings()
        self.rules = searcher.rules
        self.crisis = load_crisis_check(self.settings.crisis_guidance, self.settings.safety_file)
        self.approved = ApprovedMatcher(
            searcher, load_approved_answers(self.settings.approved_answers)
            if self.settings.approved_answers else (), self.settings.approved_threshold)
        self.model = load_answerability_model(self.settings.answerability_model)
        self.quoting = Quoter(searcher, self.settings, self.rules)
        #: Quoted phone numbers and waiting times that other pages state differently.
        self.facts = FactCheck(lambda: {d: s.document.text for d, s in self.documents.items()})

    @property
    def documents(self) -> dict[str, StoredDocument]:  # the served documents, by id
        return self.searcher.snapshot.documents

    def chunk(self, chunk_id: str) -> Chunk | None:  # a cited passage, by id
        return self.searcher.snapshot.chunk(chunk_id)

    def ask(self, question: str, *, mode: str | None = None,
            filters: Filters | None = None) -> Answer:
        answer = self._answer(question, mode, filters)
        sides = comparison(answer.query, self.documents, self.rules) \
            if answer.query and not answer.safety.crisis else ()
        return replace(answer, comparison=sides, warnings=self.facts.warnings(answer.citations))

    def _answer(self, question: str, mode: str | None, filters: Filters | None) -> Answer:
        subject = self._subject(filters)
        query = self.searcher.analyse(question, subject)
        filters, notices = self._scope(query, filters)
        vector = self.searcher.query_vector(query)
        own_words = (query.expansion.text == query.asked
                     and not self.searcher.settings.expand_dense)
        safety = self.crisis.check(query.asked, self.searcher.embedder,
                                   vector if own_words else None, query.english)
        ranked = self.searcher.ranked(query, self.settings.passages, mode=mode,
                                      filters=filters, vector=vector)
        hits = tuple(ranked.hits)
        if query.treatments and not (filters and filters.doc_ids) and not any(
                h.chunk.doc_id in query.treatments for h in hits):
            # "gsh how many sesh": the page named is the page to answer from, even when
            # its passages rank below other pages' ("CBT for psychosis: how many sessions").
            named = replace(filters or Filters(), doc_ids=query.treatments)
            own = self.searcher.ranked(query, self.settings.passages, mode=mode,
                                       filters=named, vector=vector).hits
            hits = tuple(replace(h, rank=n) for n, h in enumerate(
                (*own[:NAMED_PASSAGES], *hits)[:self.settings.passages], start=1))
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
            return self._crisis_contacts(replace(base, answer=NOT_ENGLISH, reason=(
                f"The question seems not to be in English (detected: {query.language}). We "
                "answer in English only; the nearest passages are listed.")), query, vector,
                filters, safety, agree)
        approved = self.approved.match(vector, filters)
        if approved is not None and (not query.treatments
                                     or approved.doc_id in query.treatments):
            return self._approved_answer(base, approved)
        # Signed-off wording may say what we do not offer; a caller in crisis is answered.
        if query.unknown_treatment and not safety.crisis and not (filters and filters.doc_ids):
            return replace(base, reason=f"We have no page on {query.unknown_treatment}; the "
                                        "nearest passages are listed.")
        intent = self.rules.intents.get(query.intent or "")
        # A caller in crisis asking whom to ring gets the crisis page's numbers, however
        # much else the message says.
        if intent is not None and intent.service and (
                query.about_the_service or (safety.crisis and not query.treatments)) and not (
                filters and filters.doc_ids):
            return self._crisis_contacts(self._service_answer(
                base, query, vector, filters, safety, agree), query, vector, filters, safety,
                agree)
        return self._crisis_contacts(self._page_answer(base, query, vector, agree), query,
                                     vector, filters, safety, agree)

    def _crisis_contacts(self, answer: Answer, query: Query, vector: np.ndarray,
                         filters: Filters | None, safety: Safety, agree: bool) -> Answer:
        """A message in crisis our pages do not answer ("he says he'll end it tonight, what
        do I do") gets the crisis pages' number, and says so; other answers stay."""
        kind = self.rules.crisis_answer_type
        if answer.answered or not safety.crisis or kind is None or (filters and filters.doc_ids):
            return answer
        asking = replace(query, intent=self.rules.answer_types[kind].intent, answer_type=kind)
        contacts = self._service_answer(answer, asking, vector, filters, safety, agree)
        if not contacts.answered or not self.rules.crisis_page(contacts.citations[0].title):
            return answer  # without a crisis page, no routine line instead
        return replace(contacts, reason="", notice=" ".join(n for n in (
            answer.notice, NOT_ENGLISH if answer.answer == NOT_ENGLISH else "",
            "This reads as a crisis, so the answer is how to reach our crisis team now.")
            if n))

    # --- scope ------------------------------------------------------------------------

    def _subject(self, filters: Filters | None) -> str | None:
        if filters is None or len(filters.doc_ids) != 1:
            return None
        stored = self.documents.get(next(iter(filters.doc_ids)))
        return stored.document.title if stored else None

    def _scope(self, query: Query, filters: Filters | None) -> tuple[Filters | None, list[str]]:
        """A question naming another treatment than the one chosen is answered for the
        treatment named, and says so."""
        if not (filters and filters.doc_ids and query.treatments) or (
                query.treatments & filters.doc_ids):
            return filters, []
        titles = {d: s.document.title for d, s in self.documents.items()}
        named = " and ".join(sorted(titles[d] for d in query.treatments))
        chosen = " and ".join(sorted(titles[d] for d in filters.doc_ids if d in titles))
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
        answer_type = self.rules.answer_type_of(query)
        doc_id, scored = answering_page(query, hits, intent, self.quoting, vector)
        document = self.quoting.document(doc_id)
        intent = self.quoting.intent_on(query, document, intent)
        sections = [s for s in document.sections if not self.rules.boilerplate(s.heading)]
        if intent is not None and not any(intent.heads(s.heading) for s in sections):
            return replace(base, reason=f"Our {document.title} page does not say "
                                        f"{intent.label}.")
        if answer_type is not None and not any(
                answer_type.found_in(document.text[s.start:s.end]) for s in sections):
            return replace(base, reason=f"Our {document.title} page does not give "
                                        f"{answer_type.label}.")
        candidates = scored if scored is not None else self.quoting.candidates(
            query, hits, vector, document, intent)
        chosen = self.quoting.choose(candidates, document)
        if not chosen:
            return replace(base, reason=f"Our {document.title} page has nothing to quote.")
        # The page the question names, its section for the intent, and a sentence there
        # with the very fact asked for ("cbt waitng time?"): that answers it.
        stated = (doc_id in query.treatments and answer_type is not None
                  and any(c.in_intent and c.carries_type for c in chosen))
        # The evidence weighs the intent as read on this page (``Quoter.intent_on``).
        on_page = replace(query, intent=intent.name if intent is not None else None)
        return self._decide(base, on_page, chosen, agree, stated=stated)

    def _decide(self, base: Answer, query: Query, chosen: list[Candidate], agree: bool,
                notice: str = "", stated: bool = False) -> Answer:
        """Quote ``chosen`` if the model says it answers; ``stated``: the sentences state
        the very fact asked for, in a section of the intent, which answers whatever the
        similarity of a question as short as "number to book?" or "cbt waitng time?"."""
        best = max(chosen, key=lambda c: c.score)
        document = self.quoting.document(best.doc_id)
        evidence = weigh(query, chosen, best, document, agree,
                         self.quoting.page_terms(document))
        probability = self.model.probability(evidence)
        base = replace(base, confidence=probability, evidence=evidence,
                       notice=" ".join(n for n in (base.notice, notice) if n))
        if probability < self.model.threshold and not stated:
            where = BREADCRUMB_SEPARATOR.join(best.section.breadcrumb)
            return replace(base, reason=(
                f"Our pages do not answer this closely enough to quote (confidence "
                f"{probability:.2f}); the nearest is {where}."))
        citations = tuple(self.quoting.citation(n, c) for n, c in enumerate(chosen, start=1))
        sentences = tuple(AnswerSentence(c.quote, (c.n,)) for c in citations)
        text = " ".join(f"{s.text} [{s.citations[0]}]" for s in sentences)
        return replace(base, answered=True, answer=text, sentences=sentences,
                       citations=citations)

    # --- the service as a whole --------------------------------------------------------

    def _service_answer(self, base: Answer, query: Query, vector: np.ndarray,
                        filters: Filters | None, safety: Safety, agree: bool) -> Answer:
        """What most pages say in the sections of the question's intent ("number to
        book?"); in a crisis, what the crisis pages say."""
        intent = self.rules.intents[query.intent or ""]
        answer_type = self.rules.answer_type_of(query)
        scope = replace(filters or Filters(), headings=intent.headings)
        if safety.crisis:
            crisis_docs = frozenset(d for d, s in self.documents.items()
                                    if self.rules.crisis_page(s.document.title))
            if crisis_docs:
                scope = replace(scope, doc_ids=crisis_docs)
        hits = tuple(self.searcher.search(query, self.settings.service_passages,
                                          filters=scope, vector=vector))
        candidates = [c for c in self.quoting.scored(
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
            pages_of.setdefault(self.quoting.fact(c, answer_type), set()).add(c.doc_id)
        fact = self.quoting.fact
        shared = max(close, key=lambda c: (len(pages_of[fact(c, answer_type)]), c.score))
        document = self.quoting.document(shared.doc_id)
        chosen = self.quoting.with_list(shared, [shared], document)
        pages = len(pages_of[self.quoting.fact(shared, answer_type)])
        notice = (f"{pages} of our pages give this." if pages > 1 else "")
        # A fact asked of something none of our pages names: "is the hospital chapel open
        # on sundays?" is not answered by the referral line's hours.
        lexical = self.searcher.snapshot.lexical
        if answer_type is not None and not all(lexical.has_term(t) for t in query.asked_terms):
            return replace(base, reason=f"Our pages give {answer_type.label} only for our own "
                                        "services, and none of them mentions what this asks "
                                        "about.")
        stated = answer_type is not None and any(c.carries_type for c in chosen)
        return self._decide(base, query, chosen, agree, notice, stated)

    # --- approved answers --------------------------------------------------------------

    def _approved_answer(self, base: Answer, approved: ApprovedAnswer) -> Answer:
        citations: tuple[Citation, ...] = ()
        stored = self.documents.get(approved.doc_id)
        section = next((s for s in stored.document.sections if s.slug == approved.section_slug),
                       None) if stored else None
        if stored is not None and section is not None:
            document = stored.document
            rows = self.quoting.section_rows(document.doc_id, section.breadcrumb)
            chunk_id = self.searcher.snapshot.chunks[rows[0]].chunk_id if rows else approved.source
            citations = (Citation(
                1, chunk_id, document.doc_id, document.source, document.title,
                BREADCRUMB_SEPARATOR.join(section.breadcrumb), document.page_at(section.start),
                section.start, section.end, document.text[section.start:section.end]),)
        marker = " [1]" if citations else ""
        sentence = AnswerSentence(approved.answer, (1,) if citations else ())
        return replace(base, answered=True, answer=approved.answer + marker,
                       sentences=(sentence,), citations=citations, confidence=1.0,
                       approved=True)
