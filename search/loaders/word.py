"""Word pages (.docx) → blocks, with python-docx.

Headings are paragraphs in Word's heading styles ("Heading 1"…, "Title"), or in any style
(custom ones too) that carries an outline level, as Word's navigation pane reads them.
List paragraphs (numbered or bulleted, directly or through their style) become list
items; a table becomes one item per row, its cells joined by " | ". Only the body is read:
headers, footers, comments, footnotes and tracked deletions live in other parts, or
other elements, and never reach the text.

python-docx was measured against mammoth (docx → HTML → the HTML path) on the shipped Word
pages and the hostile gallery: ``bench/word_structure.py``, README "Word pages".

A .docx is a zip: it is checked before it is opened, so a zip bomb, an encrypted file
(an OLE container, not a zip), an old .doc renamed, or one carrying macros is refused with
a specific reason instead of filling memory or running anything.
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

from search.errors import LoadError
from search.structure import Block

#: The most a .docx may unpack to, all parts together (a 20 MB file of text is ~2 GB of
#: XML only if it is a bomb), and the most its XML parts may be compressed by.
MAX_UNPACKED_BYTES = 200_000_000
MAX_XML_RATIO = 200
#: How many entries a .docx may hold (real ones have a few dozen).
MAX_ENTRIES = 5_000

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HEADING_STYLE = re.compile(r"^heading\s*([1-9])$", re.IGNORECASE)
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def docx_blocks(data: bytes) -> tuple[str | None, list[Block]]:
    """The title (document properties) and blocks of a .docx's body."""
    _check_package(data)
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
        title = document.core_properties.title or None
        blocks = list(_body_blocks(document))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, AttributeError,
            SyntaxError) as error:  # lxml's XMLSyntaxError is a SyntaxError
        raise LoadError("docx-broken", f"the Word file cannot be read ({type(error).__name__}: "
                        f"{error})"[:300]) from error
    return title, blocks


def _check_package(data: bytes) -> None:
    if data.startswith(_OLE_MAGIC):
        if "EncryptedPackage".encode("utf-16-le") in data:
            raise LoadError("docx-encrypted", "the Word file is protected with a password; "
                            "save a copy without the password and ingest that")
        raise LoadError("docx-broken", "this is an old binary Word file (.doc) named .docx; "
                        "open it in Word and save it as .docx")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise LoadError("docx-broken", "the file is not a Word document (not a zip "
                        "archive)") from error
    names = {entry.filename for entry in entries}
    if len(entries) > MAX_ENTRIES:
        raise LoadError("docx-too-large", f"the Word file holds {len(entries):,} parts; the "
                        f"limit is {MAX_ENTRIES:,}")
    unpacked = sum(entry.file_size for entry in entries)
    if unpacked > MAX_UNPACKED_BYTES:
        raise LoadError("docx-too-large", f"the Word file unpacks to {unpacked:,} bytes; the "
                        f"limit is {MAX_UNPACKED_BYTES:,} (a zip bomb, or huge embedded media)")
    for entry in entries:
        if entry.filename.endswith(".xml") and entry.file_size > MAX_XML_RATIO * max(
                entry.compress_size, 1) and entry.file_size > 10_000_000:
            raise LoadError("docx-too-large", f"'{entry.filename}' unpacks {entry.file_size:,} "
                            "bytes from a far smaller size: a zip bomb")
    if "word/document.xml" not in names:
        raise LoadError("docx-broken", "the zip has no word/document.xml: it is not a Word "
                        "document")
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        raise LoadError("docx-macros", "the Word file carries macros; save it as a plain "
                        ".docx without macros (macros are never run here)")


def _body_blocks(document: Any) -> Any:
    from docx.table import Table

    for item in document.iter_inner_content():
        if isinstance(item, Table):
            yield from _table_rows(item)
            continue
        text = " ".join(item.text.split())
        if not text:
            continue
        level = _heading_level(item)
        if level:
            yield Block("heading", text, level)
        elif _is_list_item(item):
            yield Block("item", text)
        else:
            yield Block("paragraph", text)


def _table_rows(table: Any) -> Any:
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = " ".join(cell.text.split())
            if text and (not cells or cells[-1] != text):  # merged cells repeat
                cells.append(text)
        if cells:
            yield Block("item", " | ".join(cells))


def _styles(paragraph: Any) -> Any:
    """The paragraph's style and the styles it is based on, nearest first."""
    style = paragraph.style
    seen = 0
    while style is not None and seen < 20:
        yield style
        style = style.base_style
        seen += 1


def _heading_level(paragraph: Any) -> int:
    """1–9 for a heading (style name, else outline level), 0 for body text."""
    for style in _styles(paragraph):
        name = (style.name or "").strip()
        found = _HEADING_STYLE.match(name)
        if found:
            return int(found.group(1))
        if name.lower() == "title":
            return 1
    for element in (_own_properties(paragraph), *(s.element.pPr for s in _styles(paragraph))):
        outline = element.find(f"{_W}outlineLvl") if element is not None else None
        if outline is not None:
            value = outline.get(f"{_W}val", "9")
            return int(value) + 1 if value.isdigit() and int(value) < 9 else 0
    return 0


def _own_properties(paragraph: Any) -> Any:
    """The paragraph's own ``w:pPr`` element (None without one), through python-docx's
    public ElementProxy.element."""
    return paragraph.paragraph_format.element.pPr


def _is_list_item(paragraph: Any) -> bool:
    for element in (_own_properties(paragraph), *(s.element.pPr for s in _styles(paragraph))):
        if element is not None and element.find(f"{_W}numPr") is not None:
            return True
    return any((s.name or "").lower().startswith("list") for s in _styles(paragraph))
