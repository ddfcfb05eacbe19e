"""Which Word reader keeps a page's structure: python-docx (what ingest uses) or mammoth
(docx → semantic HTML → the HTML path, trafilatura).

    .venv/bin/python bench/word_structure.py [FILE.docx ...]   # default: corpus/*.docx

For each file it counts what each path keeps against what the Word file holds (its
headings, list paragraphs and table rows, read from the XML itself), how many of its header,
footer and comment paragraphs leaked into the page text, and the time per file. The expected
counts come from the document's XML, not from either reader.
"""

from __future__ import annotations

import sys
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from search import Settings, load_document  # noqa: E402
from search.loaders.html import html_to_markdown  # noqa: E402
from search.loaders.markdown import markdown_blocks  # noqa: E402
from search.structure import build_document  # noqa: E402

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def expected(path: Path) -> dict[str, object]:
    """What the file holds, from word/document.xml and its header, footer and comments."""
    from lxml import etree

    with zipfile.ZipFile(path) as archive:
        body = etree.fromstring(archive.read("word/document.xml"))
        furniture = [" ".join("".join(p.itertext()).split())
                     for n in archive.namelist()
                     if n.startswith(("word/header", "word/footer", "word/comments"))
                     for p in etree.fromstring(archive.read(n)).iter(f"{W}p")]
        styles = etree.fromstring(archive.read("word/styles.xml"))
    outline_styles = {s.get(f"{W}styleId") for s in styles.iter(f"{W}style")
                      if s.find(f"{W}pPr/{W}outlineLvl") is not None}
    paragraphs = [p for p in body.iter(f"{W}p") if p.getparent().tag == f"{W}body"]

    def style(p: object) -> str:
        found = p.find(f"{W}pPr/{W}pStyle")  # type: ignore[attr-defined]
        return found.get(f"{W}val") if found is not None else ""

    headings = [p for p in paragraphs if style(p).startswith("Heading")
                or style(p) in outline_styles]
    items = [p for p in paragraphs if style(p).startswith("List")]
    rows = list(body.iter(f"{W}tr"))
    return {"headings": len(headings), "items": len(items) + len(rows),
            "furniture": [f for f in furniture if f]}


def counts(document: object) -> dict[str, int]:
    text: str = document.text  # type: ignore[attr-defined]
    return {"headings": len(document.sections),  # type: ignore[attr-defined]
            "items": sum(1 for line in text.splitlines() if line.startswith("- "))}


def via_mammoth(path: Path) -> object:
    import mammoth

    with path.open("rb") as file:
        html = mammoth.convert_to_html(file).value
    title, markdown = html_to_markdown(f"<html><body><main>{html}</main></body></html>")
    return build_document(markdown_blocks(markdown), doc_id=path.name, source=path.name,
                          format="docx", fingerprint="", fallback_title=path.stem, title=title)


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or sorted((ROOT / "corpus").glob("*.docx"))
    print(f"{'file':<36}{'reader':<12}{'headings':>10}{'items+rows':>12}{'leaks':>7}{'ms':>8}")
    for path in paths:
        want = expected(path)
        # Expected headings: the sections in the body, plus the title paragraph.
        print(f"{path.name:<36}{'(in file)':<12}{want['headings']:>10}{want['items']:>12}")
        for name, read in (("python-docx", lambda p: load_document(p, p.name, Settings())),
                           ("mammoth", via_mammoth)):
            start = time.perf_counter()
            document = read(path)
            elapsed = (time.perf_counter() - start) * 1000
            found = counts(document)
            text = document.text  # type: ignore[attr-defined]
            leaks = sum(1 for line in want["furniture"] if line in text)  # type: ignore[attr-defined]
            print(f"{'':<36}{name:<12}{found['headings']:>10}{found['items']:>12}{leaks:>7}"
                  f"{elapsed:>8.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
