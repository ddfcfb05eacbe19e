"""Build the Word pages of the sample corpus from Markdown sources.

Sources live in ``tools/word_pages/<slug>.md`` and are written to ``corpus/<slug>.docx``,
as a content team's Word file would be: the title in Word's Title style, sections in
Heading 2 (or, with ``<!-- style: custom -->``, in a custom style that carries an outline
level, as house templates do), bullet lists in List Bullet, ``| a | b |`` lines as a
table, and a running header and footer (``<!-- header: ... -->``, ``<!-- footer: ...
-->``) and a reviewer's comment (``<!-- comment: ... -->``) that are not page content.

Output is reproducible: fixed document dates and zip timestamps, so running the script
twice gives byte-identical files.

Usage (from the repository root)::

    .venv/bin/python tools/make_corpus_docx.py
"""

from __future__ import annotations

import datetime as dt
import io
import re
import sys
import zipfile
from pathlib import Path

import docx
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIR = ROOT / "tools" / "word_pages"
OUTPUT_DIR = ROOT / "corpus"
FIXED_TIME = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
_MARKER = re.compile(r"^<!--\s*(header|footer|comment|style):\s*(.*?)\s*-->$")


def build(source: Path) -> bytes:
    lines = source.read_text(encoding="utf-8").splitlines()
    if not lines or not lines[0].startswith("# "):
        raise ValueError(f"{source}: must start with a '# Title' line")
    title = lines[0][2:].strip()
    custom = any(_MARKER.match(line) and "style: custom" in line for line in lines)
    document = docx.Document()
    document.core_properties.title = title
    document.core_properties.author = "Harbourside Mind Health content team"
    document.core_properties.created = document.core_properties.modified = FIXED_TIME
    document.core_properties.last_printed = FIXED_TIME
    section_style = _custom_heading_style(document) if custom else "Heading 2"
    document.add_paragraph(title, style="Title")
    last = None
    table_rows: list[list[str]] = []
    for line in [*lines[1:], ""]:
        stripped = line.strip()
        if table_rows and not stripped.startswith("|"):
            _add_table(document, table_rows)
            table_rows = []
        marker = _MARKER.match(stripped)
        if marker:
            kind, text = marker.groups()
            if kind == "header":
                document.sections[0].header.paragraphs[0].text = text
            elif kind == "footer":
                document.sections[0].footer.paragraphs[0].text = text
            elif kind == "comment" and last is not None:
                comment = document.add_comment(last.runs, text=text, author="Reviewer",
                                               initials="RV")
                comment._comment_elm.set(qn("w:date"), FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ"))
        elif stripped.startswith("## "):
            last = document.add_paragraph(stripped[3:], style=section_style)
        elif stripped.startswith("- "):
            last = document.add_paragraph(stripped[2:], style="List Bullet")
        elif stripped.startswith("|"):
            table_rows.append([cell.strip() for cell in stripped.strip("|").split("|")])
        elif stripped:
            last = document.add_paragraph(stripped)
    out = io.BytesIO()
    document.save(out)
    return _reproducible(out.getvalue())


def _custom_heading_style(document: docx.document.Document) -> str:
    """A house heading style that is not "Heading 2" but has outline level 2 (w:val 1)."""
    style = document.styles.add_style("Harbourside Section", WD_STYLE_TYPE.PARAGRAPH)
    style.base_style = document.styles["Normal"]
    style.font.bold = True
    style.font.size = Pt(15)
    outline = OxmlElement("w:outlineLvl")
    outline.set(qn("w:val"), "1")
    style.element.get_or_add_pPr().append(outline)
    return style.name


def _add_table(document: docx.document.Document, rows: list[list[str]]) -> None:
    table = document.add_table(rows=len(rows), cols=max(len(r) for r in rows))
    table.style = "Table Grid"
    for cells, row in zip(rows, table.rows, strict=True):
        for text, cell in zip(cells, row.cells, strict=False):
            cell.text = text


def _reproducible(data: bytes) -> bytes:
    """The same zip with every entry dated 1980-01-01, in a fixed order."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in sorted(source.infolist(), key=lambda i: (i.filename != "[Content_Types].xml",
                                                              i.filename)):
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            target.writestr(fixed, source.read(info.filename))
    return out.getvalue()


def main() -> int:
    sources = sorted(SOURCE_DIR.glob("*.md"))
    for source in sources:
        target = OUTPUT_DIR / f"{source.stem}.docx"
        target.write_bytes(build(source))
        print(f"wrote {target.relative_to(ROOT)}")
    return 0 if sources else 1


if __name__ == "__main__":
    sys.exit(main())
