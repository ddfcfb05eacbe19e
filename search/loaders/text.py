"""Plain text: decoding any file's bytes (strict UTF-8, then Windows-1252, then by
detection) and which lines of a text page are headings, list items or prose."""

from __future__ import annotations

import re

from search.errors import LoadError
from search.structure import Block


def decode_text(data: bytes) -> str:
    """Strict UTF-8 (BOM or not), UTF-16 by BOM, then Windows-1252, then detection.

    Our pages are English: a legacy file is almost always Windows-1252 (a superset of
    Latin-1's printable range). Detection alone mistook such files for cp1250 (FIELD-NOTES
    and our own test), so it only sees bytes that Windows-1252 cannot decode.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as error:
            raise LoadError("undecodable", "the file claims UTF-16 but is not") from error
    if b"\x00" in data[:8192]:
        raise LoadError("binary", "the file holds binary data, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = _decode_legacy(data)
    controls = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\n\r\t\f")
    if controls > 0.05 * min(len(text), 8192):
        raise LoadError("binary", "the file holds binary data, not text")
    return text


def _decode_legacy(data: bytes) -> str:
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise LoadError("undecodable", "the text encoding could not be recognised; "
                        "save the file as UTF-8")
    return str(best)


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
