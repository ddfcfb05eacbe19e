"""The records that cross module boundaries: Document, Section, Chunk; their ids and hashes."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass

#: Joins a breadcrumb for people and for the embedded text.
BREADCRUMB_SEPARATOR = " › "


@dataclass(frozen=True)
class Section:
    """A heading and the body under it, up to the next heading of any level.

    ``start``/``end`` delimit the body in ``Document.text``; ``heading_start`` is where
    the heading line itself starts (equal to ``start`` for the untitled opening part).
    """

    heading: str
    level: int
    breadcrumb: tuple[str, ...]
    heading_start: int
    start: int
    end: int
    slug: str


@dataclass(frozen=True)
class Document:
    """One source file, loaded: plain text plus where its sections and pages are."""

    doc_id: str
    source: str
    format: str
    title: str
    text: str
    sections: tuple[Section, ...]
    fingerprint: str
    #: Offsets in ``text`` where pages 1, 2, ... start; empty when the format has no pages.
    page_starts: tuple[int, ...] = ()

    def section_at(self, offset: int) -> Section | None:
        """The innermost section holding character ``offset`` (its heading line included)."""
        holding = [s for s in self.sections
                   if s.heading_start <= offset < max(s.end, s.start + 1)]
        return max(holding, key=lambda s: (s.level, s.start)) if holding else None

    def page_at(self, offset: int) -> int | None:
        """The 1-based page holding character ``offset``, or None for unpaged formats."""
        if not self.page_starts:
            return None
        return max(1, bisect_right(self.page_starts, offset))


@dataclass(frozen=True)
class Chunk:
    """A passage: a span of one section of one document, with all its provenance."""

    chunk_id: str
    doc_id: str
    source: str
    title: str
    #: The headings from the page title down to the passage's section.
    breadcrumb: tuple[str, ...]
    text: str
    start: int
    end: int
    page: int | None
    page_end: int | None
    content_hash: str

    @property
    def breadcrumb_text(self) -> str:
        """The breadcrumb as people read it: "CBT › How long does CBT take?"."""
        return BREADCRUMB_SEPARATOR.join(self.breadcrumb)

    @property
    def embedding_text(self) -> str:
        """What the model sees: the breadcrumb gives a short passage its context."""
        return embedding_text(self.breadcrumb, self.text)


@dataclass(frozen=True)
class SentenceSpan:
    """A sentence that can be quoted in an answer: ``document.text[start:end]``."""

    doc_id: str
    breadcrumb: tuple[str, ...]
    start: int
    end: int

    def embedding_text(self, document_text: str) -> str:
        """What the model sees of it: the sentence with its breadcrumb, as chunks are."""
        return embedding_text(self.breadcrumb, document_text[self.start:self.end])


def embedding_text(breadcrumb: tuple[str, ...], text: str) -> str:
    return f"{BREADCRUMB_SEPARATOR.join(breadcrumb)}\n{text}"


def content_hash(text: str) -> str:
    """A short, stable hash of a text; equal texts embed to equal vectors."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def file_fingerprint(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_NON_WORD = re.compile(r"[^a-z0-9]+")


def slugify(text: str, max_length: int = 60) -> str:
    """``"Are there any side effects?"`` → ``"are-there-any-side-effects"``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = _NON_WORD.sub("-", ascii_text.lower()).strip("-")
    return slug[:max_length].rstrip("-") or "section"
