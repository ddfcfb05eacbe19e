"""What our content covers, for the content team: a matrix of documents × standard
questions, and facts (phone numbers, waiting times) that disagree across documents.

Each matrix cell asks the question of one document only (``Filters(doc_ids={doc})``) and
keeps the answer's answerability (``search.answerability``: a page with no section for the
intent, or no sentence with the fact asked for, is not covered, and says why) and its first
citation. Approved answers are switched off here:
they answer for the whole service, so they would hide what a page itself says.

The disagreement finder needs no model: it reads the documents' texts. Phone numbers are
grouped by the words naming them ("our central referrals line on …"); waiting times by the
words before "within" ("first appointments are usually offered within …"). Where one name
has several values, the values seen on fewer pages are flagged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from search.config import CoverageSettings
from search.contacts import phone_numbers
from search.retrieval import Filters

if TYPE_CHECKING:
    from search.answer import Answerer, Citation
    from search.documents import Document, Section
    from search.index import StoredDocument
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


# --- facts that disagree -----------------------------------------------------------------

FactKind = Literal["phone number", "waiting time"]


@dataclass(frozen=True)
class Fact:
    kind: FactKind
    #: What the value is of, normalised: "central referrals line", "first appointments offered".
    topic: str
    #: Normalised value ("08081570420", "10 working days") and as written in the text.
    value: str
    written: str
    doc_id: str
    #: The value's span in the document text.
    start: int
    end: int


@dataclass(frozen=True)
class Disagreement:
    kind: FactKind
    topic: str
    #: The value most pages give ("" when no value is given more often than the others).
    majority: str
    #: Every value with the facts that give it, most pages first.
    values: tuple[tuple[str, tuple[Fact, ...]], ...]
    #: The facts giving a minority value: the ones to check first.
    flagged: tuple[Fact, ...]


#: "our central referrals line on", "the Sleep Service on", "our crisis … team,"
_PHONE_NAME = re.compile(
    r"\b(?:our|the)\s+((?:[\w'’-]+\s+){0,6}?(?:line|team|service|helpline|clinic|desk))"
    r"\s*(?:on|is|:|,|-|–)?\s*$", re.IGNORECASE)
_NUMBER_WORDS = {"one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
                 "seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11",
                 "twelve": "12", "a": "1", "an": "1"}
_WITHIN = re.compile(
    r"(?P<subject>[^.!?;:\n]{3,160}?)\bwithin\s+(?P<value>(?:(?:about|around|roughly|up to)\s+)?"
    r"(?:\d+|" + "|".join(_NUMBER_WORDS) + r")\s+(?:working\s+|business\s+|calendar\s+)?"
    r"(?:hours?|days?|weeks?|months?))\b", re.IGNORECASE)
#: Words left out of a waiting-time topic: they change no meaning ("usually", "are").
_AUXILIARY = frozenset((
    "are", "is", "be", "been", "being", "will", "would", "usually", "normally", "typically",
    "generally", "often", "we", "our", "you", "your", "the", "a", "an", "to", "can", "may",
    "should",
))


def find_facts(doc_id: str, text: str) -> list[Fact]:
    """Named phone numbers and waiting times stated in one document's text."""
    facts = []
    for found in phone_numbers(text):
        line_start = max(text.rfind("\n", 0, found.start), text.rfind(". ", 0, found.start))
        before = text[max(line_start + 1, found.start - 120):found.start]
        named = _PHONE_NAME.search(before)
        if named:
            topic = " ".join(named.group(1).lower().replace("’", "'").split())
            facts.append(Fact("phone number", topic, found.digits, text[found.start:found.end],
                              doc_id, found.start, found.end))
    for match in _WITHIN.finditer(text):
        subject = re.split(r"[,(]", match.group("subject"))[-1]
        words = [w for w in re.findall(r"[a-z'-]+", subject.lower()) if w not in _AUXILIARY]
        if not words:
            continue
        facts.append(Fact("waiting time", " ".join(words[-5:]), _normal_wait(match["value"]),
                          match["value"], doc_id, match.start("value"), match.end("value")))
    return facts


def _normal_wait(value: str) -> str:
    words = value.lower().split()
    while words and words[0] in ("about", "around", "roughly", "up", "to"):
        words.pop(0)
    words = [_NUMBER_WORDS.get(w, w) for w in words]
    unit = words[-1].removesuffix("s")
    return " ".join([*words[:-1], unit if words[0] == "1" else unit + "s"])


def disagreements(texts: Mapping[str, str]) -> list[Disagreement]:
    """Facts that take different values on different documents (doc_id → text).

    A topic is compared only when at least two documents state it. The value given by
    the most documents is the majority; the rest are flagged. On a tie every value is.
    """
    by_topic: dict[tuple[FactKind, str], list[Fact]] = {}
    for doc_id, text in texts.items():
        for fact in find_facts(doc_id, text):
            by_topic.setdefault((fact.kind, fact.topic), []).append(fact)
    found = []
    for (kind, topic), facts in by_topic.items():
        values: dict[str, list[Fact]] = {}
        for fact in facts:
            values.setdefault(fact.value, []).append(fact)
        if len(values) < 2 or len({f.doc_id for f in facts}) < 2:
            continue
        pages = {value: len({f.doc_id for f in group}) for value, group in values.items()}
        ordered = sorted(values, key=lambda v: (-pages[v], v))
        top = pages[ordered[0]]
        majority = ordered[0] if sum(p == top for p in pages.values()) == 1 else ""
        flagged = tuple(f for v in ordered if v != majority for f in values[v])
        found.append(Disagreement(kind, topic, majority,
                                  tuple((v, tuple(values[v])) for v in ordered), flagged))
    return sorted(found, key=lambda d: (d.kind, -sum(len(f) for _, f in d.values), d.topic))


def disagreement_rows(found: list[Disagreement],
                      documents: dict[str, StoredDocument]) -> list[dict[str, object]]:
    """One row a fact of each disagreement, for the content team's CSV: what and where
    (page, file, section, the exact span), which value most pages give, which to check."""
    rows: list[dict[str, object]] = []
    for item in found:
        for value, facts in item.values:
            for fact in facts:
                document = documents[fact.doc_id].document
                section = document.section_at(fact.start)
                rows.append({
                    "kind": item.kind, "topic": item.topic, "written": fact.written,
                    "value": value, "most pages": value == item.majority,
                    "check": fact in item.flagged, "page": document.title,
                    "source": document.source, "section": section.heading if section else "",
                    "start": fact.start, "end": fact.end})
    return rows
