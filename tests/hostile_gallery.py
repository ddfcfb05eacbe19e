"""A generated gallery of hostile files, and what ingest must make of each.

    .venv/bin/python -m tests.hostile_gallery      # prints the README's results table

Every file is made here, from scratch, so nothing hostile is committed. ``EXPECTED`` maps
each file to the reason it must be skipped with, or None where it must go in.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from .conftest import DATA

# file → (what it is, expected reason or None for "ingested")
EXPECTED: dict[str, tuple[str, str | None]] = {
    "truncated.pdf": ("a PDF cut off at a third of its bytes", "pdf-broken"),
    "encrypted.pdf": ("a password-protected PDF", "pdf-encrypted"),
    "scanned.pdf": ("a PDF page with no text layer", "pdf-no-text"),
    "not-a-pdf.pdf": ("HTML saved with a .pdf name", "pdf-broken"),
    "many-pages.pdf": ("a PDF bomb: 2,500 blank pages", "pdf-too-many-pages"),
    "nested.pdf": ("a PDF bomb: objects nested 100,000 deep", "pdf-broken"),
    # pypdf refuses to inflate it and finds no text: skipped, never exhausting memory.
    "zip-bomb.pdf": ("a PDF bomb: a 300 KB stream inflating to 300 MB", "pdf-no-text"),
    "zero.md": ("a zero-byte file", "empty"),
    "junk.txt": ("random binary bytes named .txt", "binary"),
    "latin1.txt": ("Windows-1252 / Latin-1 text", None),
    "utf16.txt": ("UTF-16 text with a byte-order mark", None),
    "huge.txt": ("a 50 MB text file", "too-large"),
    # Past the parser's depth limit the grouping tags are dropped, so the text is read.
    "nested.html": ("HTML nested 20,000 elements deep", None),
    "scripts.html": ("HTML full of scripts, styles and event handlers", None),
    "loop.md": ("a symbolic link pointing at itself", "unreadable"),
    "pipe.txt": ("a named pipe (would block a naive reader forever)", "not-a-file"),
    "locked.md": ("a file with no read permission", "unreadable"),
    "copy-a.md": ("a page", None),
    "copy-b.md": ("the same page under a second name", "duplicate"),
    "zip-bomb.docx": ("a Word zip bomb: 300 KB unpacking to 300 MB of XML", "docx-too-large"),
    "not-a-zip.docx": ("plain text saved with a .docx name", "docx-broken"),
    "encrypted.docx": ("a password-protected Word file (an OLE container)", "docx-encrypted"),
    "macros.docm": ("a macro-enabled Word file", "unsupported-type"),
    "macros.docx": ("a .docx carrying a vbaProject.bin", "docx-macros"),
    "big-image.docx": ("a Word page with a 12 MB embedded image", None),
    "no-text.docx": ("a Word file with no text", "no-text"),
    "truncated.docx": ("a Word file cut off at half its bytes", "docx-broken"),
}

#: The settings the gallery is ingested with: short PDF limits keep the test quick.
PDF_TIMEOUT_SECONDS = 5.0


def build_gallery(folder: Path) -> None:
    from pypdf import PdfWriter

    folder.mkdir(parents=True, exist_ok=True)
    good_pdf = (DATA / "good" / "nature-therapy.pdf").read_bytes()
    (folder / "truncated.pdf").write_bytes(good_pdf[: len(good_pdf) // 3])
    shutil.copy(DATA / "bad" / "encrypted.pdf", folder / "encrypted.pdf")
    shutil.copy(DATA / "bad" / "scanned.pdf", folder / "scanned.pdf")
    (folder / "not-a-pdf.pdf").write_text("<html><body>Not a PDF</body></html>")
    writer = PdfWriter()
    for _ in range(2_500):
        writer.add_blank_page(width=200, height=200)
    with (folder / "many-pages.pdf").open("wb") as handle:
        writer.write(handle)
    (folder / "nested.pdf").write_bytes(_nested_pdf(100_000))
    (folder / "zip-bomb.pdf").write_bytes(_inflating_pdf(300_000_000))
    (folder / "zero.md").write_bytes(b"")
    (folder / "junk.txt").write_bytes(os.urandom(4096) + b"\x00")
    (folder / "latin1.txt").write_bytes(
        "Café counselling\n\nWhat is it?\n\nA naïve, friendly chat about grief.\n"
        .encode("cp1252"))
    (folder / "utf16.txt").write_text("Peer support\n\nWhat is peer support?\n\n"
                                      "Support from people who have been there too.\n",
                                      encoding="utf-16")
    with (folder / "huge.txt").open("w") as handle:
        line = "Long page of repeated text about waiting lists and referrals.\n"
        for _ in range(50_000_000 // len(line) + 1):
            handle.write(line)
    (folder / "nested.html").write_text(
        "<html><head><title>Deep</title></head><body>" + "<div>" * 20_000
        + "<p>Deeply nested advice about sleep hygiene and regular routines.</p>"
        + "</div>" * 20_000 + "</body></html>")
    (folder / "scripts.html").write_text(
        "<html><head><title>Scripts</title><script>alert('x')</script>"
        "<style>p{color:red}</style></head><body onload=\"alert('y')\">"
        "<h1>Scripted page</h1><script>document.write('<p>injected</p>')</script>"
        "<p>Relaxation classes run every Tuesday evening in the main hall.</p>"
        "<img src=x onerror=\"alert('z')\"><noscript>enable js</noscript></body></html>")
    os.symlink("loop.md", folder / "loop.md")
    os.mkfifo(folder / "pipe.txt")
    locked = folder / "locked.md"
    locked.write_text("# Locked\n\nYou should not be able to read this page.\n")
    locked.chmod(0)
    page = "# Mindful walking\n\nA gentle group walk with breathing exercises each week.\n"
    (folder / "copy-a.md").write_text(page)
    (folder / "copy-b.md").write_text(page)
    _word_gallery(folder)


def _word_gallery(folder: Path) -> None:
    good = _docx("Garden therapy", "Gardening in a small group, once a week.")
    (folder / "zip-bomb.docx").write_bytes(_with_parts(good, {
        "word/document.xml": b"<w:document>" + b" " * 300_000_000 + b"</w:document>"}))
    (folder / "not-a-zip.docx").write_text("Just some text, not a Word file.\n")
    # Word stores a password-protected file as an OLE compound file holding an
    # "EncryptedPackage" stream; these are the bytes that tell it apart.
    (folder / "encrypted.docx").write_bytes(
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
        + "EncryptedPackage".encode("utf-16-le") + os.urandom(4096))
    (folder / "macros.docm").write_bytes(_with_parts(good, {"word/vbaProject.bin": b"\x00" * 64}))
    (folder / "macros.docx").write_bytes(_with_parts(good, {"word/vbaProject.bin": b"\x00" * 64}))
    (folder / "big-image.docx").write_bytes(_with_parts(
        _docx("Pottery group", "A weekly pottery group for people with low mood."),
        {"word/media/photo.png": b"\x89PNG\r\n\x1a\n" + os.urandom(12_000_000)},
        stored=True))
    (folder / "no-text.docx").write_bytes(_docx(None, None))
    (folder / "truncated.docx").write_bytes(good[: len(good) // 2])


def _docx(title: str | None, body: str | None) -> bytes:
    import io

    import docx

    document = docx.Document()
    if title:
        document.add_heading(title, level=1)
    if body:
        document.add_paragraph(body)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _with_parts(data: bytes, parts: dict[str, bytes], stored: bool = False) -> bytes:
    """``data`` (a .docx) with ``parts`` added or replaced."""
    import io
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename not in parts:
                target.writestr(info.filename, source.read(info.filename))
        for name, blob in parts.items():
            target.writestr(name, blob, zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)
    return out.getvalue()


def expected_reason(name: str) -> str | None:
    # Root reads any file whatever its permissions; CI runs as root.
    if name == "locked.md" and os.geteuid() == 0:
        return None
    return EXPECTED[name][1]


def _nested_pdf(depth: int) -> bytes:
    body = b"[" * depth + b"]" * depth
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Annots " + body + b" >>"]
    return _pdf(objects)


def _inflating_pdf(size: int) -> bytes:
    import zlib

    stream = zlib.compress(b"0 0 m " * (size // 6), 9)
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>",
               b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream
               + b"\nendstream"]
    return _pdf(objects)


def _pdf(objects: list[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def main() -> None:
    """Ingest the gallery for real and print what became of each file."""
    from search import Settings, build_index

    settings = Settings(pdf_timeout_seconds=PDF_TIMEOUT_SECONDS)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "gallery"
        build_gallery(folder)
        started = time.monotonic()
        report = build_index([folder], Path(tmp) / "index", settings)
        seconds = time.monotonic() - started
    failures = {f.source: f for f in report.failed}
    print("| file | what it is | outcome | reason |")
    print("|---|---|---|---|")
    for name, (what, _) in EXPECTED.items():
        failure = failures.get(name)
        outcome = "ingested" if name in report.added else "skipped"
        reason = f"`{failure.reason}`: {failure.message}" if failure else ""
        print(f"| {name} | {what} | {outcome} | {reason} |")
    print(f"\nWhole ingest: {seconds:.1f} s, exit status {report.exit_code}.")


if __name__ == "__main__":
    main()
