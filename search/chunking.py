"""Document → Chunks: sentence-aware packing inside each section, under a token budget.

A chunk never spans two sections. Sentences are packed until the breadcrumb plus the
text would pass ``max_tokens`` word pieces (counted with the model's own tokenizer);
the next chunk repeats up to ``overlap_tokens`` of trailing sentences. A sentence longer
than the budget on its own is cut at token boundaries.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Protocol

from search.config import ChunkSettings
from search.documents import (
    Chunk,
    Document,
    Section,
    SentenceSpan,
    content_hash,
    embedding_text,
)

Span = tuple[int, int]


class TokenCounter(Protocol):
    """The model's tokenizer, as far as chunking needs it."""

    def count(self, text: str) -> int:
        """Word pieces in ``text``, special tokens included."""
        ...

    def token_spans(self, text: str) -> list[Span]:
        """Character span of each word piece of ``text``, special tokens excluded."""
        ...

    def count_many(self, texts: list[str]) -> list[int]:
        """``count`` of each text, in one call."""
        ...


def chunk_document(
    document: Document, counter: TokenCounter, settings: ChunkSettings
) -> list[Chunk]:
    chunks: list[Chunk] = []
    slug_counts: dict[str, int] = {}
    for section in document.sections:
        for start, end in _section_chunk_spans(document.text, section, counter, settings):
            number = slug_counts.get(section.slug, 0) + 1
            slug_counts[section.slug] = number
            text = document.text[start:end]
            chunks.append(Chunk(
                chunk_id=f"{document.source}#{section.slug}-{number}",
                doc_id=document.doc_id, source=document.source, title=document.title,
                breadcrumb=section.breadcrumb, text=text, start=start, end=end,
                page=document.page_at(start), page_end=document.page_at(end - 1),
                content_hash=content_hash(embedding_text(section.breadcrumb, text)),
            ))
    return chunks


def quotable_sentences(document: Document) -> list[SentenceSpan]:
    """Every sentence an answer may quote, once per section, list bullets trimmed.

    Fragments of one or two words are left out unless they carry a number (a phone
    number on its own line is exactly what a caller needs) or are a list item ("- depression"
    belongs to the list its lead-in introduces).
    """
    found: list[SentenceSpan] = []
    text = document.text
    for section in document.sections:
        for start, end in sentence_spans(text, section.start, section.end):
            item = text.startswith(("- ", "* ", "• "), start)
            if item:
                start += 2
            quote = text[start:end]
            if not item and len(quote.split()) < 3 and not any(ch.isdigit() for ch in quote):
                continue
            if len(quote) > MAX_QUOTE_CHARS:  # no sentence: a run-on line, a pasted blob
                continue
            found.append(SentenceSpan(document.doc_id, section.breadcrumb, start, end))
    return found


def _section_chunk_spans(
    text: str, section: Section, counter: TokenCounter, settings: ChunkSettings
) -> Iterator[Span]:
    # The breadcrumb line is embedded with every chunk, so it spends budget too.
    budget = settings.max_tokens - counter.count(embedding_text(section.breadcrumb, ""))
    budget = max(budget, 16)
    sentences = sentence_spans(text, section.start, section.end)
    width = budget * MAX_CHARS_PER_PIECE  # a longer span is cut by characters first
    counts = iter(counter.count_many([text[s:e] for s, e in sentences if e - s <= width]))
    units: list[Span] = []
    sizes: list[int] = []
    for start, end in sentences:
        count = next(counts) if end - start <= width else None
        for (s, e), pieces in _fit(text, (start, end), count, counter, budget):
            units.append((s, e))
            # A unit spends at least its length in the widest word pieces: [UNK] runs too.
            sizes.append(max(pieces, -(-(e - s) // MAX_CHARS_PER_PIECE)))
    current: list[int] = []  # indices into units
    used = 0
    for index, size in enumerate(sizes):
        if current and used + size > budget:
            yield units[current[0]][0], units[current[-1]][1]
            current, used = _overlap(current, sizes, settings.overlap_tokens)
            if used + size > budget:
                current, used = [], 0
        current.append(index)
        used += size
    if current:
        yield units[current[0]][0], units[current[-1]][1]


def _overlap(previous: list[int], sizes: list[int], overlap_tokens: int) -> tuple[list[int], int]:
    """Trailing units of the previous chunk that fit in the overlap, never all of it."""
    kept: list[int] = []
    used = 0
    for index in reversed(previous[1:]):
        if used + sizes[index] > overlap_tokens:
            break
        kept.insert(0, index)
        used += sizes[index]
    return kept, used


#: Longest sentence an answer may quote, in characters (about ten lines of a page).
MAX_QUOTE_CHARS = 1_500
#: Characters a word piece spans at most, for the cut below: WordPiece turns any "word"
#: over 100 characters into one [UNK], so a 5 MB line with no spaces counts 1 token.
MAX_CHARS_PER_PIECE = 8


def _fit(text: str, span: Span, count: int | None, counter: TokenCounter,
         budget: int) -> list[tuple[Span, int]]:
    """A sentence as one unit, or cut at word-piece boundaries when over budget, each with
    its word pieces (``count``: the sentence's, special tokens included, if known); a span
    longer than any budget of real word pieces could be is cut by characters first."""
    start, end = span
    width = budget * MAX_CHARS_PER_PIECE
    if end - start > width:
        return [piece for window in _windows(text, start, end, width)
                for piece in _fit(text, window, None, counter, budget)]
    sentence = text[start:end]
    count = counter.count(sentence) if count is None else count
    if count - 2 <= budget:
        return [(span, count - 2)]
    pieces = counter.token_spans(sentence)
    cuts = [(start + pieces[i][0], start + pieces[min(i + budget, len(pieces)) - 1][1])
            for i in range(0, len(pieces), budget)]
    return [(cut, counter.count(text[cut[0]:cut[1]]) - 2) for cut in cuts]


def _windows(text: str, start: int, end: int, width: int) -> list[Span]:
    """``text[start:end]`` in spans of at most ``width`` characters, cut after a space
    where the second half of a window has one, else where the width ends."""
    windows: list[Span] = []
    while end - start > width:
        cut = text.rfind(" ", start + width // 2, start + width)
        cut = cut + 1 if cut != -1 else start + width
        windows.append((start, len(text[start:cut].rstrip()) + start))
        start = cut
    windows.append((start, end))
    return windows


_LINE = re.compile(r"[^\n]+")


def sentence_spans(text: str, start: int, end: int) -> list[Span]:
    """Sentences of ``text[start:end]`` as absolute spans; a line break always ends one.

    Spans are found by locating blingfire's sentences in the line, so they always
    index the original text exactly, whatever blingfire does to whitespace.
    """
    import blingfire

    spans: list[Span] = []
    for line in _LINE.finditer(text, start, end):
        line_text = line.group()
        cursor = 0
        for sentence in blingfire.text_to_sentences(line_text).split("\n"):
            sentence = sentence.strip()
            found = line_text.find(sentence, cursor) if sentence else -1
            if found < 0:
                spans.append((line.start() + cursor, line.end()))  # keep the rest whole
                break
            spans.append((line.start() + found, line.start() + found + len(sentence)))
            cursor = found + len(sentence)
    return [(s, e) for s, e in spans if text[s:e].strip()]
