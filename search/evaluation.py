"""Measure retrieval and answers on a question set: hit@k, MRR, facts, refusal, latency.

Question lines (JSON): ``{"qid", "text", "doc", "section", "must_contain": [...],
"answerable": true|false, "split": "dev"|"test"}``; ``doc`` is a document id (its source
path), ``section`` the heading of the section that answers it. Only ``text`` is required.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean
from typing import Any

from search.answer import Answer, Answerer
from search.documents import BREADCRUMB_SEPARATOR
from search.errors import QueryError
from search.retrieval import Hit, Searcher

CUTOFFS = (1, 3, 10)


@dataclass(frozen=True)
class Question:
    qid: str
    text: str
    doc: str | None = None
    section: str | None = None
    must_contain: tuple[str, ...] = ()
    answerable: bool = True
    split: str | None = None
    #: Who it is written as: "worried", "shorthand", "clinician" (eval/README.md).
    style: str | None = None
    #: About the service as a whole: any page's section stating ``must_contain`` answers it.
    service: bool = False
    #: A crisis message in a question set ("my flatmate says she'll kill herself tonight"),
    #: labelled by a reader who had not seen the crisis check's verdicts: its category.
    crisis: str | None = None


def load_questions(path: Path, split: str | None = None) -> list[Question]:
    questions: list[Question] = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            question = Question(
                qid=str(raw.get("qid", number)), text=str(raw["text"]), doc=raw.get("doc"),
                section=raw.get("section"), must_contain=tuple(raw.get("must_contain", ())),
                answerable=bool(raw.get("answerable", True)), split=raw.get("split"),
                style=raw.get("style"), service=bool(raw.get("service", False)),
                crisis=raw.get("crisis") or None,
            )
        except (ValueError, KeyError, TypeError) as error:
            raise QueryError(f"{path}, line {number}: not a question record ({error})") from error
        if split is None or question.split == split:
            questions.append(question)
    return questions


def _rank(hits: Sequence[Hit], question: Question, by_section: bool) -> int | None:
    for hit in hits:
        if hit.chunk.doc_id != question.doc:
            continue
        if not by_section or hit.chunk.breadcrumb[-1] == question.section:
            return hit.rank
    return None


@dataclass
class ModeReport:
    mode: str
    questions: int = 0
    doc_hits: dict[int, float] = field(default_factory=dict)
    section_hits: dict[int, float] = field(default_factory=dict)
    doc_mrr: float = 0.0
    section_mrr: float = 0.0
    facts: float | None = None
    facts_questions: int = 0
    first_citation: float | None = None
    answered_when_answerable: float | None = None
    refusal_precision: float | None = None
    refusal_recall: float | None = None
    search_ms: dict[str, float] = field(default_factory=dict)
    ask_ms: dict[str, float] = field(default_factory=dict)


def _summary(latencies: list[float]) -> dict[str, float]:
    if not latencies:
        return {}
    ordered = sorted(latencies)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)

    return {"p50": pick(0.5), "p95": pick(0.95), "mean": round(mean(ordered) * 1000, 1)}


def evaluate(searcher: Searcher, questions: list[Question], mode: str,
             answerer: Answerer | None = None) -> ModeReport:
    report = ModeReport(mode)
    ranked = [q for q in questions if q.answerable and q.doc]
    report.questions = len(ranked)
    doc_ranks, section_ranks, search_times = [], [], []
    for question in ranked:
        started = time.perf_counter()
        hits = searcher.search(question.text, max(CUTOFFS), mode=mode)
        search_times.append(time.perf_counter() - started)
        doc_ranks.append(_rank(hits, question, by_section=False))
        section_ranks.append(_rank(hits, question, by_section=True) if question.section else None)
    for cutoff in CUTOFFS:
        report.doc_hits[cutoff] = _share([r is not None and r <= cutoff for r in doc_ranks])
        report.section_hits[cutoff] = _share([r is not None and r <= cutoff
                                              for r in section_ranks])
    report.doc_mrr = _share([1 / r if r else 0.0 for r in doc_ranks])
    report.section_mrr = _share([1 / r if r else 0.0 for r in section_ranks])
    report.search_ms = _summary(search_times)
    if answerer is not None:
        _evaluate_answers(answerer, questions, mode, report)
    return report


def _flat(text: str) -> str:
    return " ".join(text.split())


def has_facts(answer: Answer, question: Question) -> bool:
    """Answered, and every required fact is in the answer (whitespace aside)."""
    flat = _flat(answer.answer)
    return answer.answered and all(_flat(f) in flat for f in question.must_contain)


def cites_the_section(answer: Answer, question: Question,
                      documents: dict[str, Any]) -> bool:
    """Answered, and the first citation is from the section that answers: the question's
    own, or for a service question any section stating all of its required facts."""
    if not answer.answered or not answer.citations:
        return False
    first = answer.citations[0]
    if question.service:
        document = documents[first.doc_id].document
        section = document.section_at(first.start)
        body = _flat(document.text[section.start:section.end]) if section else ""
        return bool(question.must_contain) and all(_flat(f) in body
                                                   for f in question.must_contain)
    return (first.doc_id == question.doc
            and first.breadcrumb_text.split(BREADCRUMB_SEPARATOR)[-1] == question.section)


def _evaluate_answers(answerer: Answerer, questions: list[Question], mode: str,
                      report: ModeReport) -> None:
    facts, answered, refused_right, refused, unanswerable, times = [], [], 0, 0, 0, []
    cited = []
    documents = answerer.searcher.snapshot.documents
    for question in questions:
        started = time.perf_counter()
        answer = answerer.ask(question.text, mode=mode)
        times.append(time.perf_counter() - started)
        if not answer.answered:
            refused += 1
            refused_right += not question.answerable
        if not question.answerable:
            unanswerable += 1
            continue
        answered.append(answer.answered)
        if question.section or question.service:
            cited.append(cites_the_section(answer, question, documents))
        if question.must_contain:
            facts.append(has_facts(answer, question))
    report.first_citation = _share(cited) if cited else None
    report.facts = _share(facts) if facts else None
    report.facts_questions = len(facts)
    report.answered_when_answerable = _share(answered) if answered else None
    report.refusal_precision = refused_right / refused if refused else None
    report.refusal_recall = refused_right / unanswerable if unanswerable else None
    report.ask_ms = _summary(times)


def _share(values: Sequence[float | bool]) -> float:
    return round(sum(float(v) for v in values) / len(values), 4) if values else 0.0


def calibrate(answerer: Answerer, questions: list[Question]) -> dict[str, Any]:
    """Fit the answerability model (``search.answerability``) on these questions.

    Each question is answered once with the model's refusal off; the evidence of those
    that reach the model (the rules refuse some first) is fitted against whether the
    question is answerable. Returns the model and its fit on the same questions.
    """
    from dataclasses import replace

    from search.answerability import fit

    serving = answerer.model
    answerer.model = replace(serving, threshold=1e-12)
    try:
        rows = []
        for question in questions:
            answer = answerer.ask(question.text)
            if answer.evidence is not None:
                rows.append((answer.evidence, question.answerable))
    finally:
        answerer.model = serving
    model = fit(rows, threshold=serving.threshold)
    kept = [model.probability(e) >= model.threshold for e, _ in rows]
    answerable = [k for k, (_, a) in zip(kept, rows, strict=True) if a]
    unanswerable = [not k for k, (_, a) in zip(kept, rows, strict=True) if not a]
    return {"model": model.as_dict(), "questions": len(questions), "fitted": len(rows),
            "answerable": len(answerable), "unanswerable": len(unanswerable),
            "answered_when_answerable": _share(answerable),
            "refused_when_unanswerable": _share(unanswerable)}
