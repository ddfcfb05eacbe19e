"""Files on disk → Documents, for Markdown, plain text, HTML, PDF and Word: one module a
format (``markdown``, ``text``, ``html``, ``pdf``, ``word``), each handing ``Block``s to
``search.structure``.

Every failure is a ``LoadError`` with a stable reason code, so that ingest can report
the file and go on with the others.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

from search.config import Settings
from search.documents import Document, file_fingerprint
from search.errors import LoadError
from search.loaders.html import html_to_markdown
from search.loaders.markdown import markdown_blocks
from search.loaders.pdf import pdf_blocks
from search.loaders.text import decode_text, text_blocks
from search.loaders.word import docx_blocks
from search.structure import build_document

SUFFIX_FORMATS = {
    ".md": "md", ".markdown": "md", ".txt": "txt", ".text": "txt",
    ".html": "html", ".htm": "html", ".pdf": "pdf", ".docx": "docx",
}
#: Office formats that are found and reported, never read, with what to do instead.
UNSUPPORTED_REASONS = {
    ".docm": "a Word file with macros: save it as .docx without macros",
    ".dotx": "a Word template: save the page itself as .docx",
    ".doc": "the old binary Word format: open it in Word and save it as .docx",
    ".rtf": "Rich Text: save it as .docx",
    ".odt": "OpenDocument text: save it as .docx",
    ".pages": "an Apple Pages file: export it as .docx",
    ".pptx": "slides are not pages: put the content in a .docx, .md or .html page",
    ".ppt": "slides are not pages: put the content in a .docx, .md or .html page",
    ".odp": "slides are not pages: put the content in a .docx, .md or .html page",
    ".xlsx": "a spreadsheet is not a page: put the content in a .docx, .md or .html page",
    ".xls": "a spreadsheet is not a page: put the content in a .docx, .md or .html page",
    ".ods": "a spreadsheet is not a page: put the content in a .docx, .md or .html page",
}


def unsupported_reason(suffix: str) -> str:
    """Why a file of this suffix is not read, and what to save it as."""
    suffix = suffix.lower()
    formats = ", ".join(sorted(SUFFIX_FORMATS))
    if suffix in UNSUPPORTED_REASONS:
        return f"'{suffix}' files are not read ({UNSUPPORTED_REASONS[suffix]}); the formats " \
               f"read are {formats}"
    return f"'{suffix}' files are not supported; save it as one of {formats}"


def load_document(path: Path, source: str, settings: Settings,
                  data: bytes | None = None) -> Document:
    """Read one file; ``source`` is its name relative to the folder it was found in.

    ``data`` is the file's content when the caller has read it already (``read_file``).
    """
    format = SUFFIX_FORMATS.get(path.suffix.lower())
    if format is None:
        raise LoadError("unsupported-type", unsupported_reason(path.suffix))
    if data is None:
        data = read_file(path, settings.max_file_bytes)
    common: dict[str, Any] = {
        "doc_id": source, "source": source, "format": format,
        "fingerprint": file_fingerprint(data), "fallback_title": _title_from_name(path),
    }
    if format == "pdf":
        title, blocks = pdf_blocks(data, settings)
        document = build_document(blocks, title=title, **common)
    elif format == "docx":
        title, blocks = docx_blocks(data)
        document = build_document(blocks, title=title, **common)
    elif format == "html":
        title, markdown = html_to_markdown(decode_text(data))
        document = build_document(markdown_blocks(markdown), title=title, **common)
    elif format == "md":
        document = build_document(markdown_blocks(decode_text(data)), **common)
    else:
        document = build_document(text_blocks(decode_text(data)), **common)
    if not document.text.strip():
        raise LoadError("no-text", "the file holds no readable text after conversion")
    return document


def read_file(path: Path, max_bytes: int) -> bytes:
    """A regular file's bytes, or a LoadError that says why not.

    Anything but a regular file (a named pipe would block the ingest forever, a device
    would never end) is refused before it is opened.
    """
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise LoadError("not-a-file", "not a regular file (a pipe, device or socket)")
        size = info.st_size
        if size > max_bytes:
            raise LoadError("too-large", f"the file is {size:,} bytes; the limit is "
                            f"{max_bytes:,} (max_file_bytes)")
        data = path.read_bytes()
    except PermissionError as error:
        raise LoadError("unreadable", f"permission denied: {error.strerror}") from error
    except OSError as error:
        raise LoadError("unreadable", f"cannot read the file: {error.strerror or error}") from error
    if not data.strip():
        raise LoadError("empty", "the file is empty")
    return data


def _title_from_name(path: Path) -> str:
    words = path.stem.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:] if words else path.name
