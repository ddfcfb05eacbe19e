"""PDF → blocks: parsed in a child process (``search.loaders.pdf_worker``) under a time
and memory limit; headings from font sizes, running headers and footers dropped, and the
page of every line kept."""

from __future__ import annotations

import itertools
import json
import os
import re
import resource
import subprocess
import sys
from collections import Counter
from pathlib import Path
from statistics import median
from typing import Any, NamedTuple

from search.config import Settings
from search.errors import LoadError
from search.loaders.text import looks_like_heading
from search.structure import Block


class PdfLine(NamedTuple):
    """One text line of a PDF page, as the worker reports it."""

    text: str
    size: float
    bold: bool
    y: float


def pdf_blocks(data: bytes, settings: Settings) -> tuple[str | None, list[Block]]:
    if not data.lstrip().startswith(b"%PDF"):
        raise LoadError("pdf-broken", "the file is not a PDF (no %PDF header)")
    result = _run_pdf_worker(data, settings)
    if "error" in result:
        raise LoadError(result["error"], result["message"])
    pages = [[PdfLine(*line) for line in page] for page in result["pages"]]
    if not any(line.text.strip() for page in pages for line in page):
        raise LoadError("pdf-no-text", "the PDF has no text layer (scanned or image-only); "
                        "run it through OCR first")
    return result.get("title"), pdf_lines_to_blocks(pages)


def _run_pdf_worker(data: bytes, settings: Settings) -> dict[str, Any]:
    """Parse ``data`` (the bytes that were fingerprinted, never the path again)."""
    memory = settings.pdf_memory_bytes

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    command = [sys.executable, "-m", "search.loaders.pdf_worker", str(settings.pdf_max_pages)]
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


def pdf_lines_to_blocks(pages: list[list[PdfLine]]) -> list[Block]:
    """Lines with font sizes → blocks: larger or bold short lines are headings."""
    pages = _without_running_lines(pages)
    sizes: Counter[float] = Counter()
    for page in pages:
        for line in page:
            sizes[line.size] += len(line.text)
    body = sizes.most_common(1)[0][0] if sizes else 0.0
    heading_sizes = sorted((s for s in sizes if s > body * 1.1), reverse=True)
    blocks: list[Block] = []
    for number, page in enumerate(pages, start=1):
        gaps = [abs(a.y - b.y) for a, b in itertools.pairwise(page) if a.y != b.y]
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


def _without_running_lines(pages: list[list[PdfLine]]) -> list[list[PdfLine]]:
    """Drop running headers and footers: lines that recur on most pages, digits aside
    ("Clinic leaflet - Page 3"), would otherwise land in the middle of a section."""
    if len(pages) < 2:
        return pages

    def shape(text: str) -> str:
        return re.sub(r"\d+", "#", " ".join(text.split()))

    seen: Counter[str] = Counter()
    for page in pages:
        seen.update({shape(line.text) for line in page})
    running = {key for key, count in seen.items() if count >= max(2, len(pages) / 2)}
    return [[line for line in page if shape(line.text) not in running] for page in pages]
