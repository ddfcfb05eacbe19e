"""Files on disk → Documents, for Markdown, plain text, HTML and PDF.

Every failure is a ``LoadError`` with a stable reason code, so that ingest can report
the file and go on with the others.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import resource
import stat
import subprocess
import sys
from collections import Counter
from pathlib import Path
from statistics import median
from typing import Any

from search.config import Settings
from search.documents import Document, file_fingerprint
from search.errors import LoadError
from search.structure import Block, build_document, looks_like_heading, text_blocks
from search.word import docx_blocks

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
        title, blocks = _pdf_blocks(path, data, settings)
        document = build_document(blocks, title=title, **common)
    elif format == "docx":
        title, blocks = docx_blocks(data)
        document = build_document(blocks, title=title, **common)
    elif format == "html":
        title, markdown = _html_to_markdown(decode_text(data))
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


# --- Text decoding --------------------------------------------------------------------

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


# --- Markdown and HTML ----------------------------------------------------------------

def markdown_blocks(markdown: str) -> list[Block]:
    """Markdown → blocks with markdown-it, so a ``#`` inside a code fence is no heading."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    blocks: list[Block] = []
    in_item = 0
    for index, token in enumerate(tokens):
        if token.type == "list_item_open":
            in_item += 1
        elif token.type == "list_item_close":
            in_item -= 1
        elif token.type == "inline":
            opener = tokens[index - 1].type
            text = _inline_text(token)
            if opener == "heading_open":
                blocks.append(Block("heading", text, int(tokens[index - 1].tag[1:])))
            elif opener in ("th_open", "td_open"):
                _append_table_cell(blocks, text, tokens[index - 1].type == "th_open")
            else:
                blocks.append(Block("item" if in_item else "paragraph", text))
        elif token.type in ("fence", "code_block"):
            blocks.append(Block("paragraph", token.content.rstrip("\n")))
        elif token.type == "tr_close":
            blocks.append(Block("paragraph", ""))  # a row ends; the next cell starts anew
    return [b for b in blocks if b.text.strip()]


def _append_table_cell(blocks: list[Block], text: str, header: bool) -> None:
    if blocks and blocks[-1].kind == "paragraph" and blocks[-1].text.endswith(" |"):
        blocks[-1] = Block("paragraph", f"{blocks[-1].text} {text} |")
    else:
        blocks.append(Block("paragraph", f"| {text} |"))


def _inline_text(token: Any) -> str:
    parts: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)
    return " ".join("".join(parts).split())


#: Nesting from which the HTML parser (libxml2, under trafilatura) stops reading: past
#: about 255 levels everything after the deepest point is silently lost.
MAX_HTML_DEPTH = 200
_TAG = re.compile(r"<(/?)([a-zA-Z][\w:-]*)\b[^>]*?(/?)>")
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link",
                   "meta", "param", "source", "track", "wbr"})
#: Tags that only group other elements: dropped from an over-deep page, their text kept.
_CONTAINERS = re.compile(r"</?(div|span|section|article|font|center|main)\b[^>]*>",
                         re.IGNORECASE)


def _html_depth(html: str) -> int:
    depth = deepest = 0
    for closing, name, self_closing in _TAG.findall(html):
        if name.lower() in _VOID or self_closing:
            continue
        depth = max(0, depth - 1) if closing else depth + 1
        deepest = max(deepest, depth)
    return deepest


def _html_to_markdown(html: str) -> tuple[str | None, str]:
    """Main content as Markdown: trafilatura drops navigation, footers, scripts, styles.
    A page nested deeper than the parser reads (MAX_HTML_DEPTH) loses its grouping tags
    first, so its last paragraphs are read too; one still too deep is refused."""
    import trafilatura

    if _html_depth(html) > MAX_HTML_DEPTH:
        html = _CONTAINERS.sub(" ", html)
        deepest = _html_depth(html)
        if deepest > MAX_HTML_DEPTH:
            raise LoadError("html-too-deep", f"the HTML is nested {deepest:,} elements deep; "
                            f"past {MAX_HTML_DEPTH} it cannot be read whole. Save it again "
                            "from its editor, or as Markdown")

    try:
        markdown = trafilatura.extract(
            html, output_format="markdown", include_links=False, include_images=False,
            include_tables=True, include_comments=False, favor_recall=True,
        )
        metadata = trafilatura.extract_metadata(html)
    except (RecursionError, ValueError, TypeError, AttributeError) as error:
        raise LoadError("html-broken", f"the HTML cannot be parsed ({type(error).__name__})"
                        ) from error
    title = metadata.title if metadata is not None and metadata.title else None
    if not markdown:
        raise LoadError("no-text", "no readable main content was found in the HTML")
    return title, markdown


# --- PDF ------------------------------------------------------------------------------

def _pdf_blocks(path: Path, data: bytes, settings: Settings) -> tuple[str | None, list[Block]]:
    if not data.lstrip().startswith(b"%PDF"):
        raise LoadError("pdf-broken", "the file is not a PDF (no %PDF header)")
    result = _run_pdf_worker(data, settings)
    if "error" in result:
        raise LoadError(result["error"], result["message"])
    pages: list[list[list[Any]]] = result["pages"]
    if not any(line[0].strip() for page in pages for line in page):
        raise LoadError("pdf-no-text", "the PDF has no text layer (scanned or image-only); "
                        "run it through OCR first")
    return result.get("title"), pdf_lines_to_blocks(pages)


def _run_pdf_worker(data: bytes, settings: Settings) -> dict[str, Any]:
    """Parse ``data`` (the bytes that were fingerprinted, never the path again)."""
    memory = settings.pdf_memory_bytes

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    command = [sys.executable, "-m", "search.pdf_worker", str(settings.pdf_max_pages)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    try:
        completed = subprocess.run(
            command, input=data, capture_output=True, timeout=settings.pdf_timeout_seconds,
            preexec_fn=limit_memory, env=env, check=False,
        )
    except subprocess.TimeoutExpired:
        raise LoadError("pdf-timeout", f"parsing took longer than "
                        f"{settings.pdf_timeout_seconds:g} s (pdf_timeout_seconds)") from None
    if completed.returncode != 0 or not completed.stdout:
        raise LoadError("pdf-broken", "the PDF parser stopped (out of memory or crashed): "
                        f"exit status {completed.returncode}")
    result: dict[str, Any] = json.loads(completed.stdout.decode("utf-8"))
    return result


def pdf_lines_to_blocks(pages: list[list[list[Any]]]) -> list[Block]:
    """Lines with font sizes → blocks: larger or bold short lines are headings."""
    pages = _without_running_lines(pages)
    sizes: Counter[float] = Counter()
    for page in pages:
        for text, size, _bold, _y in page:
            sizes[size] += len(text)
    body = sizes.most_common(1)[0][0] if sizes else 0.0
    heading_sizes = sorted((s for s in sizes if s > body * 1.1), reverse=True)
    blocks: list[Block] = []
    for number, page in enumerate(pages, start=1):
        gaps = [abs(a[3] - b[3]) for a, b in itertools.pairwise(page) if a[3] != b[3]]
        line_gap = median(gaps) if gaps else 0.0
        previous_y: float | None = None
        bullet_pending = False
        for text, size, bold, y in page:
            text = text.strip()
            if len(text) <= 2 and not any(ch.isalnum() for ch in text):
                bullet_pending = True  # a bullet glyph drawn on its own
                continue
            is_heading = size in heading_sizes or (
                bold and size >= body and not heading_sizes and looks_like_heading(text)
            )
            if is_heading:
                level = heading_sizes.index(size) + 1 if size in heading_sizes else 2
                last = blocks[-1] if blocks else None
                if last and last.kind == "heading" and last.level == level and last.page == number:
                    blocks[-1] = Block("heading", f"{last.text} {text}", level, number)
                else:
                    blocks.append(Block("heading", text, level, number))
            elif bullet_pending:
                blocks.append(Block("item", text, 0, number))
            else:
                new_paragraph = (
                    not blocks or blocks[-1].kind == "heading" or blocks[-1].page != number
                    or previous_y is None or abs(previous_y - y) > line_gap * 1.4
                )
                if new_paragraph or (blocks[-1].kind == "item" and previous_y is None):
                    blocks.append(Block("paragraph", text, 0, number))
                else:
                    last = blocks[-1]
                    blocks[-1] = Block(last.kind, f"{last.text} {text}", 0, number)
            bullet_pending = False
            previous_y = y
    return blocks


def _without_running_lines(pages: list[list[list[Any]]]) -> list[list[list[Any]]]:
    """Drop running headers and footers: lines that recur on most pages, digits aside
    ("Clinic leaflet - Page 3"), would otherwise land in the middle of a section."""
    if len(pages) < 2:
        return pages

    def shape(text: str) -> str:
        return re.sub(r"\d+", "#", " ".join(text.split()))

    seen: Counter[str] = Counter()
    for page in pages:
        seen.update({shape(line[0]) for line in page})
    running = {key for key, count in seen.items() if count >= max(2, len(pages) / 2)}
    return [[line for line in page if shape(line[0]) not in running] for page in pages]
