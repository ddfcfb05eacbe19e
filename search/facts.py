"""Facts (phone numbers, waiting times) that disagree across our documents, and the
warning an answer carries when it quotes one of the odd ones out.

The finder needs no model: it reads the documents' texts. Phone numbers are grouped by the
words naming them ("our central referrals line on …"); waiting times by the words before
"within" ("first appointments are usually offered within …"). Where one name has several
values, the values seen on fewer pages are flagged.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from search.contacts import phone_numbers

if TYPE_CHECKING:
    from search.answer_record import Citation
    from search.index import StoredDocument

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
    r"\bwithin\s+(?P<value>(?:(?:about|around|roughly|up to)\s+)?"
    r"(?:\d+|" + "|".join(_NUMBER_WORDS) + r")\s+(?:working\s+|business\s+|calendar\s+)?"
    r"(?:hours?|days?|weeks?|months?))\b", re.IGNORECASE)
#: What a waiting time is of: up to 160 characters before "within", in its sentence.
_SUBJECT_CHARS = 160
_SENTENCE_BREAK = re.compile(r"[.!?;:\n]")
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
    # "within" first, then its subject backwards: a pattern that starts with the subject
    # tries 160 characters at every position of the text (8 s for 500 MedQuAD pages).
    taken = 0  # where the previous waiting time's match ended
    for match in _WITHIN.finditer(text):
        begin = max(taken, match.start() - _SUBJECT_CHARS)
        breaks = [b.end() for b in _SENTENCE_BREAK.finditer(text, begin, match.start())]
        begin = breaks[-1] if breaks else begin
        if match.start() - begin < 3:
            continue
        taken = match.end()
        subject = re.split(r"[,(]", text[begin:match.start()])[-1]
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


def states_a_fact(text: str) -> bool:
    """Whether ``text`` gives a phone number or a waiting time (the kinds compared)."""
    return bool(_WITHIN.search(text)) or next(phone_numbers(text), None) is not None


def check_before_reading_out(citations: Sequence[Citation],
                             found: list[Disagreement]) -> tuple[str, ...]:
    """A warning for each quoted phone number or waiting time that other pages state
    differently ("this answer gives 0808 157 0240 for the central referrals line. Most
    pages give 0808 157 0420."), so that it is checked before anyone reads it out."""
    warnings: list[str] = []
    for item in found:
        for fact in item.flagged:
            if any(c.doc_id == fact.doc_id and c.start <= fact.start < c.end
                   for c in citations):
                usual = next((facts[0].written for value, facts in item.values
                              if value == item.majority), "")
                others = (f" Most pages give {usual}." if usual
                          else " Other pages give a different value.")
                warnings.append(f"this answer gives {fact.written} for the {item.topic}."
                                f"{others}")
    return tuple(warnings)


class FactCheck:
    """The facts that disagree across one set of documents, worked out when an answer
    first quotes a phone number or a waiting time, and each answer's warnings."""

    def __init__(self, texts: Callable[[], Mapping[str, str]]) -> None:
        self._texts = texts
        self._found: list[Disagreement] | None = None
        # The app's sessions share one answerer: the first of them works it out, once.
        self._lock = threading.Lock()

    def disagreements(self) -> list[Disagreement]:
        with self._lock:
            if self._found is None:
                self._found = disagreements(self._texts())
            return self._found

    def warnings(self, citations: Sequence[Citation]) -> tuple[str, ...]:
        if not any(states_a_fact(c.quote) for c in citations):
            return ()
        return check_before_reading_out(citations, self.disagreements())
