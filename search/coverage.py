"""What our content covers, for the content team: a matrix of documents × standard
questions (the facts that disagree across documents are ``search.facts``).

Each matrix cell asks the question of one document only (``Filters(doc_ids={doc})``) and
keeps the answer's answerability (``search.answerability``: a page with no section for the
intent, or no sentence with the fact asked for, is not covered, and says why) and its first
citation. Approved answers are switched off here:
they answer for the whole service, so they would hide what a page itself says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from search.config import CoverageSettings
from search.retrieval import Filters

if TYPE_CHECKING:
    from search.answer import Answerer, Citation
    from search.documents import Document, Section
    from search.question_rules import QuestionRules

Band = Literal["good", "fair", "weak", "missing"]
BAND_LABELS: dict[Band, str] = {
    "good": "answered well",
    "fair": "answered fairly",
    "weak": "weak answer",
    "missing": "not covered",
}
#: Called with (cells done, cells in all) while the matrix is built.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Cell:
    doc_id: str
    #: The standard question's label (the matrix column) and the question actually asked.
    label: str
    question: str
    answered: bool
    confidence: float
    citation: Citation | None
    #: Why: the refusal's reason, or the section that answers.
    reason: str = ""
    #: Where on the page to look (a not-covered cell): the section of the question's
    #: intent, or, when the page has none, the section the page template puts before it
    #: ("after" True), or None for the top of the page (``place_on_page``).
    place: Section | None = None
    after: bool = False

    def as_dict(self) -> dict[str, Any]:
        """``place``: where to look on the page, for a cell that is not covered."""
        place = None if self.place is None else {
            "section": self.place.heading, "slug": self.place.slug, "after": self.after}
        return {"covered": self.answered, "confidence": round(self.confidence, 4),
                "reason": self.reason, "place": place}


@dataclass(frozen=True)
class CoverageMatrix:
    doc_ids: tuple[str, ...]
    labels: tuple[str, ...]
    cells: dict[tuple[str, str], Cell]

    def cell(self, doc_id: str, label: str) -> Cell:
        return self.cells[(doc_id, label)]

    def as_dict(self, documents: Mapping[str, Any]) -> dict[str, Any]:
        """The command line's JSON: columns, and a row per document with its cells."""
        return {"columns": list(self.labels), "rows": [{
            "doc_id": d, "source": documents[d].document.source,
            "title": documents[d].document.title,
            "cells": {label: self.cell(d, label).as_dict() for label in self.labels},
        } for d in self.doc_ids]}


def question_for(template: str, title: str) -> str:
    """The standard question asked of one page: ``{topic}`` becomes the page's title."""
    return template.replace("{topic}", title.strip() or "this treatment")


def coverage_matrix(answerer: Answerer, doc_ids: Iterable[str],
                    questions: tuple[tuple[str, str], ...],
                    progress: Progress | None = None) -> CoverageMatrix:
    """Ask every standard question of every document, one document at a time."""
    from search.answer import Answerer

    own = Answerer(answerer.searcher, replace(answerer.settings, approved_answers=None))
    own.facts = answerer.facts  # the same documents: worked out once, not once per matrix
    documents = answerer.searcher.snapshot.documents
    doc_ids = tuple(doc_ids)
    cells: dict[tuple[str, str], Cell] = {}
    intents: dict[str, str | None] = {}  # column → its question's intent
    total = len(doc_ids) * len(questions)
    for doc_id in doc_ids:
        title = documents[doc_id].document.title
        for label, template in questions:
            question = question_for(template, title)
            answer = own.ask(question, filters=Filters(doc_ids=frozenset({doc_id})))
            citation = answer.citations[0] if answer.citations else None
            reason = answer.reason or (f"answered from “{citation.breadcrumb_text}”" if citation
                                       else "answered")
            intents.setdefault(label, answer.query.intent if answer.query else None)
            place, after = (None, False) if answer.answered else place_on_page(
                documents[doc_id].document, [intents.get(lbl) for lbl, _ in questions],
                [lbl for lbl, _ in questions].index(label), own.rules)
            cells[(doc_id, label)] = Cell(doc_id, label, question, answer.answered,
                                          answer.confidence, citation, reason, place, after)
            if progress:
                progress(len(cells), total)
    return CoverageMatrix(doc_ids, tuple(label for label, _ in questions), cells)


def place_on_page(document: Document, intents: list[str | None], column: int,
                  rules: QuestionRules) -> tuple[Section | None, bool]:
    """Where the answer to column ``column`` is, or would go, on ``document``: the section
    whose heading its intent matches (False: at it); else the last of the page's sections
    that answers an earlier column (True: after it), the columns being in the order of
    the page template; else (None, False): the top of the page."""
    def section_for(name: str | None) -> Section | None:
        intent = rules.intents.get(name or "")
        return next((s for s in document.sections if intent and intent.heads(s.heading)),
                    None)

    own = section_for(intents[column])
    if own is not None:
        return own, False
    for earlier in reversed(intents[:column]):
        found = section_for(earlier)
        if found is not None:
            return found, True
    return None, False


def band(cell: Cell, settings: CoverageSettings) -> Band:
    """How well a cell is answered, for its colour."""
    if not cell.answered:
        return "missing"
    if cell.confidence >= settings.good:
        return "good"
    return "fair" if cell.confidence >= settings.fair else "weak"
