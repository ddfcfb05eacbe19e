"""Feedback on answers, and the questions our content could not answer, in local SQLite.

Every question and comment is masked (``search.contacts.mask``: phone numbers, e-mail
addresses, NHS numbers) before it is written, so callers' identifiers never reach the
database. ``gaps()`` groups what went wrong for the content team: questions that were
not covered or got poor feedback, counted.

One short-lived connection per call: Streamlit serves each session from its own thread,
and SQLite connections must not cross threads.
"""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast, get_args

from search.contacts import mask

if TYPE_CHECKING:
    import numpy as np

Verdict = Literal["helpful", "not_helpful", "wrong_passage", "not_covered"]
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)
#: What people choose in the form; ``not_covered`` is logged by the app itself.
USER_VERDICTS: dict[Verdict, str] = {
    "helpful": "Helpful",
    "not_helpful": "Not helpful",
    "wrong_passage": "Wrong or outdated passage",
}
#: Verdicts that make a question a gap in our content.
POOR: tuple[Verdict, ...] = ("not_helpful", "wrong_passage", "not_covered")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    verdict TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    passage TEXT NOT NULL DEFAULT '',
    index_generation TEXT NOT NULL DEFAULT ''
)
"""
#: What the content team decided about a gap, per wording; a gap asked again after it
#: was marked is open again.
_STATUS_SCHEMA = """
CREATE TABLE IF NOT EXISTS gap_status (
    wording TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    marked_at TEXT NOT NULL
)
"""
GapStatus = Literal["open", "resolved", "won't fix"]
GAP_STATUSES: tuple[GapStatus, ...] = get_args(GapStatus)

#: Words that do not change what a question is about, ignored when grouping.
_FILLER = frozenset((
    "a", "an", "the", "is", "are", "do", "does", "can", "could", "i", "my", "me", "we", "you",
    "your", "our", "it", "please", "about", "of", "to", "for", "and", "or", "on", "in", "at",
    "there", "any", "this", "that", "be",
))
_WORD = re.compile(r"[\w\[\]-]+")


@dataclass(frozen=True)
class FeedbackRecord:
    id: int
    created_at: str
    verdict: Verdict
    #: Masked before storing, like ``comment``.
    question: str
    answer: str
    comment: str
    #: The chunk id of the passage flagged as wrong or outdated, if one was chosen.
    passage: str
    index_generation: str


@dataclass(frozen=True)
class Gap:
    """Questions that mean the same (same words, any order or case), counted."""

    #: The wording asked most often.
    question: str
    count: int
    not_covered: int
    not_helpful: int
    wrong_passage: int
    last_asked: str
    comments: tuple[str, ...] = ()
    #: Every wording grouped here (by the same words, or by meaning: ``merge_similar``).
    wordings: tuple[str, ...] = ()


class FeedbackStore:
    """Feedback in one SQLite file, created with its table on first use."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as connection:
            connection.execute(_SCHEMA)
            connection.execute(_STATUS_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=10)) as connection, connection:
            yield connection

    def record(self, question: str, answer_text: str, verdict: Verdict, comment: str = "",
               index_generation: str = "", passage: str = "",
               keep: frozenset[str] = frozenset()) -> FeedbackRecord:
        """Store one verdict on an answer; question and comment are masked first, except
        the phone numbers of ``keep`` (our pages' own, ``contacts.numbers_in``)."""
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, got {verdict!r}")
        record = FeedbackRecord(0, _now(), verdict, mask(question.strip(), keep), answer_text,
                                mask(comment.strip(), keep), passage, index_generation)
        with self._connect() as connection:
            cursor = connection.execute(
                "INSERT INTO feedback (created_at, verdict, question, answer, comment, passage,"
                " index_generation) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (record.created_at, record.verdict, record.question, record.answer,
                 record.comment, record.passage, record.index_generation))
        return replace(record, id=cursor.lastrowid or 0)

    def mark_gap(self, gap: Gap, status: GapStatus) -> None:
        """Keep the content team's decision on a gap (every wording of it); "open" clears it."""
        if status not in GAP_STATUSES:
            raise ValueError(f"status must be one of {', '.join(GAP_STATUSES)}, got {status!r}")
        with self._connect() as connection:
            for wording in gap.wordings or (gap.question,):
                if status == "open":
                    connection.execute("DELETE FROM gap_status WHERE wording = ?", (wording,))
                else:
                    connection.execute("INSERT OR REPLACE INTO gap_status VALUES (?, ?, ?)",
                                       (wording, status, _now()))

    def status_of(self, gap: Gap) -> GapStatus:
        """The gap's status: the latest decision on any of its wordings, unless the gap was
        asked again since."""
        return self.statuses([gap])[gap.question]

    def statuses(self, gaps: list[Gap]) -> dict[str, GapStatus]:
        """``status_of`` for each gap (by its question), read in one query."""
        with self._connect() as connection:
            marks = {wording: (status, marked_at) for wording, status, marked_at in
                     connection.execute("SELECT wording, status, marked_at FROM gap_status")}
        found: dict[str, GapStatus] = {}
        for gap in gaps:
            decided = [marks[w] for w in gap.wordings or (gap.question,) if w in marks]
            status, marked_at = max(decided, key=lambda m: m[1]) if decided else ("open", "")
            found[gap.question] = cast(GapStatus, status) if marked_at >= gap.last_asked \
                else "open"
        return found

    def log_not_covered(self, question: str, answer_text: str,
                        index_generation: str = "") -> FeedbackRecord:
        """Record a question our content did not cover (masked, like all questions)."""
        return self.record(question, answer_text, "not_covered", "", index_generation)

    def records(self) -> list[FeedbackRecord]:
        """Everything stored, oldest first."""
        with self._connect() as connection:
            rows = connection.execute(
                "SELECT id, created_at, verdict, question, answer, comment, passage,"
                " index_generation FROM feedback ORDER BY id").fetchall()
        return [FeedbackRecord(row[0], row[1], cast(Verdict, row[2]), *row[3:]) for row in rows]

    def gaps(self) -> list[Gap]:
        """Not-covered and poorly rated questions, grouped and counted, most frequent first."""
        groups: dict[str, list[FeedbackRecord]] = {}
        for record in self.records():
            if record.verdict in POOR:
                groups.setdefault(group_key(record.question), []).append(record)
        gaps = []
        for records in groups.values():
            verdicts = Counter(r.verdict for r in records)
            wording = Counter(r.question for r in records).most_common(1)[0][0]
            gaps.append(Gap(
                wording, len(records), verdicts["not_covered"], verdicts["not_helpful"],
                verdicts["wrong_passage"], max(r.created_at for r in records),
                tuple(dict.fromkeys(r.comment for r in records if r.comment)),
                tuple(dict.fromkeys(r.question for r in records)),
            ))
        return _ordered(gaps)


def merge_similar(gaps: list[Gap], vectors: np.ndarray, threshold: float) -> list[Gap]:
    """Gaps whose questions mean the same merged, by the cosine of their (normalised)
    vectors: a gap joins the most asked group it is ``threshold`` close to, every member of
    it, so that one topic's different asks ("email for the crisis team", "phone number for
    the crisis team") do not chain into one."""
    groups: list[tuple[Gap, list[int]]] = []  # (merged gap, rows of its members' vectors)
    for index in sorted(range(len(gaps)), key=lambda i: (-gaps[i].count, gaps[i].question)):
        gap = gaps[index]
        home = next((n for n, (_, rows) in enumerate(groups)
                     if all(float(vectors[row] @ vectors[index]) >= threshold
                            for row in rows)), None)
        if home is None:
            groups.append((gap, [index]))
            continue
        first, rows = groups[home]
        groups[home] = (replace(
            first, count=first.count + gap.count,
            not_covered=first.not_covered + gap.not_covered,
            not_helpful=first.not_helpful + gap.not_helpful,
            wrong_passage=first.wrong_passage + gap.wrong_passage,
            last_asked=max(first.last_asked, gap.last_asked),
            comments=tuple(dict.fromkeys(first.comments + gap.comments)),
            wordings=tuple(dict.fromkeys(first.wordings + gap.wordings))), [*rows, index])
    return _ordered([gap for gap, _ in groups])


def _ordered(gaps: list[Gap]) -> list[Gap]:
    """Most asked first; among equals the most recently asked, then A–Z."""
    by_name = sorted(gaps, key=lambda g: g.question.lower())
    return sorted(sorted(by_name, key=lambda g: g.last_asked, reverse=True),
                  key=lambda g: -g.count)


def group_key(question: str) -> str:
    """``"How much does CBT cost?"`` and ``"cbt cost how much"`` share a key."""
    words = {w for w in _WORD.findall(question.lower()) if w not in _FILLER}
    return " ".join(sorted(words)) or question.strip().lower()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
