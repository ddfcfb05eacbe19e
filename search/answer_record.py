"""What an answer is: its sentences, each cited to the exact span it quotes, the passages
found, the crisis check, and (refused) the reason; ``as_dict`` is the JSON contract of
``python -m search ask --json`` and of the HTTP API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from search.answerability import Evidence
from search.comparison import Side
from search.query import Query
from search.retrieval import Hit
from search.safety import Safety

NOT_COVERED = "Not covered by our content."
NOT_ENGLISH = "We answer in English."


@dataclass(frozen=True)
class Citation:
    n: int
    chunk_id: str
    doc_id: str
    source: str
    title: str
    #: The cited section's breadcrumb as people read it ("CBT › How long does CBT take?").
    breadcrumb_text: str
    page: int | None
    #: The quote's span in the document's loaded text: ``text[start:end] == quote``.
    start: int
    end: int
    quote: str

    def as_dict(self) -> dict[str, Any]:
        """The JSON of the CLI and the API, whose key for the breadcrumb is "section"."""
        record = vars(self).copy()
        record["section"] = record.pop("breadcrumb_text")
        return record


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
    #: Two or three treatments compared: each one's section for what is asked, side by
    #: side (``search.comparison``); empty otherwise.
    comparison: tuple[Side, ...] = ()
    #: "Check before reading out": a quoted phone number or waiting time that other
    #: pages state differently (``search.facts``).
    warnings: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "question": self.question, "answered": self.answered, "answer": self.answer,
            "reason": self.reason, "notice": self.notice,
            "sentences": [{"text": s.text, "citations": list(s.citations)}
                          for s in self.sentences],
            "citations": [c.as_dict() for c in self.citations],
            "passages": [h.as_dict() for h in self.passages],
            "confidence": round(self.confidence, 4), "approved": self.approved,
            "safety": self.safety.as_dict(),
            "analysis": self.query.as_dict() if self.query else None,
            "evidence": self.evidence.as_dict() if self.evidence else None,
            "comparison": [vars(side).copy() for side in self.comparison],
            "warnings": list(self.warnings),
        }
