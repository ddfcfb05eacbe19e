"""Build the PDF pages of the sample corpus from Markdown sources.

Sources live in ``tools/pdf_pages/<slug>.md`` and are rendered to ``corpus/<slug>.pdf``.
The sources use a small Markdown subset:

* ``# Title`` on the first line (also used as the PDF title metadata)
* ``## Heading`` for sections
* ``- item`` for bullet lists
* blank-line separated paragraphs
* ``<!-- pagebreak -->`` on its own line to force a new page

Output is reproducible: the document is built with ``invariant=1``, so running the script
twice gives byte-identical files.

Usage (from the repository root)::

    .venv/bin/python tools/make_corpus_pdfs.py
"""

from __future__ import annotations

import sys
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    ListFlowable,
    ListItem,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
)

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIR = ROOT / "tools" / "pdf_pages"
OUTPUT_DIR = ROOT / "corpus"

ORGANISATION = "Harbourside Mind Health"
FOOTER_TEXT = f"{ORGANISATION} - patient information (sample content)"
PAGEBREAK_MARKER = "<!-- pagebreak -->"


def parse_markdown(text: str) -> tuple[str, list[tuple[str, object]]]:
    """Split the Markdown subset into a title and a list of (kind, payload) blocks.

    Kinds are ``h2`` (str), ``p`` (str), ``ul`` (list[str]) and ``pagebreak`` (None).
    """
    lines = text.splitlines()
    if not lines or not lines[0].startswith("# "):
        raise ValueError("source must start with a '# Title' line")
    title = lines[0][2:].strip()

    blocks: list[tuple[str, object]] = []
    paragraph: list[str] = []
    bullets: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append(("p", " ".join(paragraph)))
            paragraph.clear()
        if bullets:
            blocks.append(("ul", list(bullets)))
            bullets.clear()

    for raw in lines[1:]:
        line = raw.strip()
        if not line:
            flush()
        elif line == PAGEBREAK_MARKER:
            flush()
            blocks.append(("pagebreak", None))
        elif line.startswith("## "):
            flush()
            blocks.append(("h2", line[3:].strip()))
        elif line.startswith("- "):
            if paragraph:
                blocks.append(("p", " ".join(paragraph)))
                paragraph.clear()
            bullets.append(line[2:].strip())
        else:
            if bullets:
                blocks.append(("ul", list(bullets)))
                bullets.clear()
            paragraph.append(line)
    flush()
    return title, blocks


def build_story(title: str, blocks: list[tuple[str, object]]) -> list:
    styles = getSampleStyleSheet()
    h1, body = styles["Heading1"], styles["BodyText"]
    # Keep each section heading on the same page as the text that follows it.
    h2 = ParagraphStyle("SectionHeading", parent=styles["Heading2"], keepWithNext=1)

    story: list = [Paragraph(escape(title), h1), Spacer(1, 4 * mm)]
    for kind, payload in blocks:
        if kind == "h2":
            story.append(Paragraph(escape(str(payload)), h2))
        elif kind == "p":
            story.append(Paragraph(escape(str(payload)), body))
        elif kind == "ul":
            assert isinstance(payload, list)
            items = [ListItem(Paragraph(escape(item), body), leftIndent=12) for item in payload]
            # Symbol's bullet glyph extracts as U+2022; Helvetica's comes out as a control char.
            story.append(
                ListFlowable(
                    items,
                    bulletType="bullet",
                    start="\u2022",
                    bulletFontName="Symbol",
                    leftIndent=12,
                )
            )
        elif kind == "pagebreak":
            story.append(PageBreak())
        else:  # pragma: no cover - parse_markdown only emits the kinds above
            raise ValueError(f"unknown block kind {kind!r}")
    return story


class CorpusDocTemplate(SimpleDocTemplate):
    """SimpleDocTemplate that draws a running footer once a page's content is laid out.

    Drawing in ``afterPage`` (rather than ``onFirstPage``) keeps the footer after the page's
    body text in the content stream, so extracted text starts with the document title.
    """

    def afterPage(self) -> None:
        canvas = self.canv
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        canvas.drawString(self.leftMargin, 12 * mm, FOOTER_TEXT)
        canvas.drawRightString(A4[0] - self.rightMargin, 12 * mm, f"Page {self.page}")
        canvas.restoreState()


def render(source: Path, output: Path) -> None:
    title, blocks = parse_markdown(source.read_text(encoding="utf-8"))
    doc = CorpusDocTemplate(
        str(output),
        pagesize=A4,
        title=title,
        author=ORGANISATION,
        subject="Sample content for demonstration - not clinical advice",
        creator="tools/make_corpus_pdfs.py",
        invariant=1,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=20 * mm,
        bottomMargin=22 * mm,
    )
    doc.build(build_story(title, blocks))


def main() -> int:
    sources = sorted(SOURCE_DIR.glob("*.md"))
    if not sources:
        print(f"no sources found in {SOURCE_DIR}", file=sys.stderr)
        return 1
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    for source in sources:
        output = OUTPUT_DIR / f"{source.stem}.pdf"
        render(source, output)
        print(f"wrote {output.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
