"""PDF → lines with font sizes, run in a child process under a time and memory limit.

pypdf raises many exception types on hostile files and can hang or balloon on a
compression bomb, so ``loaders`` runs this module as ``python -m search.loaders.pdf_worker
MAX_PAGES`` and kills it past its limits. It reads the PDF's bytes on stdin, the very bytes
the ingest fingerprinted: a file replaced meanwhile cannot be stored with one version's
fingerprint and the other's text. It prints one JSON object on stdout:
``{"title": str|null, "pages": [[[text, size, bold, y], ...], ...]}`` or
``{"error": reason, "message": str}``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

Line = list[Any]  # [text, font size, bold, y]


def _page_lines(page: Any) -> list[Line]:
    """The page's text lines in reading order, each with its largest font size."""
    lines: list[Line] = []
    current: Line | None = None

    def visit(text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        nonlocal current
        scale = abs(tm[3] * cm[3]) or 1.0
        name = str((font or {}).get("/BaseFont", "")) if hasattr(font, "get") else ""
        y = round(tm[5] * cm[3] + cm[5], 1)
        for piece_index, piece in enumerate(text.split("\n")):
            if piece_index > 0 or current is None or abs(current[3] - y) > 1.0:
                if current is not None and current[0].strip():
                    lines.append(current)
                current = ["", 0.0, True, y]
            if piece.strip():
                current[0] += piece
                current[1] = max(current[1], round(size * scale, 1))
                current[2] = current[2] and "bold" in name.lower()

    page.extract_text(visitor_text=visit)
    if current is not None and current[0].strip():
        lines.append(current)
    return lines


def extract(data: bytes, max_pages: int) -> dict[str, Any]:
    import io

    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        try:
            reader.decrypt("")
        except Exception:  # pypdf raises several types for unsupported encryption
            return {"error": "pdf-encrypted", "message": "the PDF is encrypted"}
    try:
        page_count = len(reader.pages)
    except FileNotDecryptedError:
        return {"error": "pdf-encrypted", "message": "the PDF is encrypted with a password"}
    if page_count > max_pages:
        return {
            "error": "pdf-too-many-pages",
            "message": f"the PDF has {page_count} pages; the limit is {max_pages}",
        }
    metadata = reader.metadata
    title = metadata.title if metadata is not None and metadata.title else None
    return {"title": title, "pages": [_page_lines(page) for page in reader.pages]}


def main(argv: list[str]) -> int:
    max_pages = int(argv[0])
    try:
        result = extract(sys.stdin.buffer.read(), max_pages)
    except RecursionError:
        result = {"error": "pdf-broken", "message": "the PDF's objects nest too deeply"}
    except Exception as error:  # pypdf's failure modes are many; all mean "unreadable"
        message = f"the PDF cannot be parsed ({type(error).__name__}: {error})"[:300]
        result = {"error": "pdf-broken", "message": message}
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
