"""Blocks → a Document's text and sections: the structure every loader hands over.

Each loader turns its format into a flat list of ``Block``s (headings, paragraphs, list
items, with their page). This module lays them out as one plain text and records where
each section and page starts, so that spans, breadcrumbs and pages mean the same thing
whatever the file format was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from search.documents import Document, Section, slugify

BlockKind = Literal["heading", "paragraph", "item"]


@dataclass(frozen=True)
class Block:
    kind: BlockKind
    text: str
    level: int = 0
    page: int | None = None


def build_document(
    blocks: list[Block], *, doc_id: str, source: str, format: str, fingerprint: str,
    fallback_title: str, title: str | None = None,
) -> Document:
    """Lay ``blocks`` out as text; the first top-level heading (or ``title``) titles it."""
    blocks = [b for b in blocks if _without_controls(b.text).strip()]
    if blocks and blocks[0].kind == "heading" and blocks[0].level == 1:
        # The page's own top heading beats metadata titles like "X | Site name".
        title = _without_controls(blocks[0].text).strip()
        blocks = blocks[1:]
    title = _without_controls(title or "").strip() or fallback_title
    text, spans = _lay_out(blocks)
    sections = _sections(blocks, spans, title)
    page_starts = _page_starts(blocks, [start for start, _ in spans])
    return Document(
        doc_id=doc_id, source=source, format=format, title=title, text=text,
        sections=sections, fingerprint=fingerprint, page_starts=page_starts,
    )


def _lay_out(blocks: list[Block]) -> tuple[str, list[tuple[int, int]]]:
    """Join blocks, list items one per line and everything else a paragraph apart."""
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    length = 0
    previous: Block | None = None
    for block in blocks:
        if previous is not None:
            separator = "\n" if block.kind == previous.kind == "item" else "\n\n"
            parts.append(separator)
            length += len(separator)
        clean = _without_controls(block.text).strip()
        rendered = f"- {clean}" if block.kind == "item" else clean
        parts.append(rendered)
        spans.append((length, length + len(rendered)))
        length += len(rendered)
        previous = block
    return "".join(parts), spans


#: Characters that carry no text: C0 and C1 controls (form feeds, backspaces, NULs from bad
#: exports); zero-width and bidirectional format characters, which can make a phone number
#: display reversed ("U+202E 0800 123 456") or a word not match itself; the BOM and soft
#: hyphen; and lone surrogates, which a broken PDF text map yields and no text can hold.
_FORMAT = (0x00AD, 0x061C, 0x180E, *range(0x200B, 0x2010), *range(0x202A, 0x202F),
           *range(0x2060, 0x2065), *range(0x2066, 0x2070), 0xFEFF, *range(0xFFF9, 0xFFFC))
_CONTROLS = ({code: None for code in range(32) if chr(code) not in "\n\t"}
             | {code: None for code in range(0x7F, 0xA0)}
             | dict.fromkeys(_FORMAT) | dict.fromkeys(range(0xD800, 0xE000)))


def _without_controls(text: str) -> str:
    """``text`` without the characters that carry no text (``_CONTROLS``), so that none
    reaches a chunk, a quote or the copy box, and every span matches the served text."""
    return text.translate(_CONTROLS)


def _sections(
    blocks: list[Block], spans: list[tuple[int, int]], title: str
) -> tuple[Section, ...]:
    """One section per heading, plus the untitled opening part when it has a body."""
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    heading, level, heading_start, body_start, body_end = "", 1, 0, 0, 0

    def close() -> None:
        if heading or body_end > body_start:
            sections.append(Section(
                heading=heading, level=level,
                breadcrumb=(title, *(text for _, text in stack)),
                heading_start=heading_start, start=body_start,
                end=max(body_start, body_end), slug=slugify(heading or title),
            ))

    for block, (start, end) in zip(blocks, spans, strict=True):
        if block.kind != "heading":
            if body_end == body_start:
                body_start = start
            body_end = end
            continue
        close()
        while stack and stack[-1][0] >= block.level:
            stack.pop()
        heading, level = _without_controls(block.text).strip(), block.level
        stack.append((level, heading))
        heading_start, body_start, body_end = start, end, end
    close()
    return tuple(sections)


def _page_starts(blocks: list[Block], offsets: list[int]) -> tuple[int, ...]:
    starts: list[int] = []
    for block, offset in zip(blocks, offsets, strict=True):
        if block.page is None:
            return ()
        while len(starts) < block.page:
            starts.append(offset)
    return tuple(starts)
