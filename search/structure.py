"""Blocks → a Document's text and sections: the structure every loader hands over.

Each loader turns its format into a flat list of ``Block``s (headings, paragraphs, list
items, with their page). This module lays them out as one plain text and records where
each section and page starts, so that spans, breadcrumbs and pages mean the same thing
whatever the file format was.
"""

from __future__ import annotations

import re
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


# --- Plain text: which lines are headings -------------------------------------------

_ITEM = re.compile(r"^\s*(?:[-*•‣◦]|\d{1,2}[.)])\s+")
_TERMINAL = (".", ":", ";", ",", "!", "…")


def looks_like_heading(line: str) -> bool:
    """A short standalone line that asks a question or carries no closing punctuation.

    Catches "What is CBT?", "How to get referred", "Side effects"; not "Call us on:",
    a phone number, or the last short line of a paragraph.
    """
    line = line.strip()
    words = line.split()
    if not line or len(line) > 90 or len(words) > 14:
        return False
    if not line[0].isupper() or _ITEM.match(line):
        return False
    letters = sum(ch.isalpha() for ch in line)
    if letters < 0.6 * len(line.replace(" ", "")):
        return False
    return line.endswith("?") or not line.endswith(_TERMINAL)


def text_blocks(text: str, page: int | None = None, *, first_is_title: bool = True) -> list[Block]:
    """Plain text → blocks: blank lines separate paragraphs; lone short lines are headings."""
    blocks: list[Block] = []
    for paragraph in re.split(r"\n\s*\n", text):
        lines = [line.strip() for line in paragraph.splitlines() if line.strip()]
        if not lines:
            continue
        if len(lines) == 1 and looks_like_heading(lines[0]):
            level = 1 if first_is_title and not blocks else 2
            blocks.append(Block("heading", lines[0], level, page))
            continue
        blocks.extend(_paragraph_blocks(lines, page))
    return blocks


def _paragraph_blocks(lines: list[str], page: int | None) -> list[Block]:
    """Lines of one paragraph: bulleted lines are items, the rest joins into prose."""
    blocks: list[Block] = []
    prose: list[str] = []
    for line in lines:
        bullet = _ITEM.match(line)
        if bullet:
            if prose:
                blocks.append(Block("paragraph", " ".join(prose), 0, page))
                prose = []
            blocks.append(Block("item", line[bullet.end():], 0, page))
        elif blocks and blocks[-1].kind == "item" and not prose and line[:1].islower():
            last = blocks[-1]
            blocks[-1] = Block("item", f"{last.text} {line}", 0, page)
        else:
            prose.append(line)
    if prose:
        blocks.append(Block("paragraph", " ".join(prose), 0, page))
    return blocks
