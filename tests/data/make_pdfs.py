"""Regenerate the test PDFs: ``python tests/data/make_pdfs.py`` (needs reportlab, pypdf).

Output is byte-for-byte reproducible (reportlab's invariant mode), so the committed files
only change when this script does.
"""

from __future__ import annotations

from pathlib import Path

from pypdf import PdfReader, PdfWriter
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.pdfgen import canvas
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

HERE = Path(__file__).resolve().parent


def two_page(path: Path) -> None:
    styles = getSampleStyleSheet()
    story = [
        Paragraph("Nature therapy", styles["Heading1"]),
        Paragraph("What is nature therapy?", styles["Heading2"]),
        Paragraph("Nature therapy takes sessions outdoors, into gardens and woodland. "
                  "Gardening tasks give the hour a shape and make talking easier.",
                  styles["BodyText"]),
        Paragraph("Who can it help?", styles["Heading2"]),
        Paragraph("It can help adults recovering from depression or long periods of stress.",
                  styles["BodyText"]),
        PageBreak(),
        Paragraph("How do I get referred?", styles["Heading2"]),
        Paragraph("Call the Green Team on 0808 157 0997. Sessions run from April to October.",
                  styles["BodyText"]),
    ]

    def footer(page: canvas.Canvas, _document: object) -> None:
        page.setFont("Helvetica", 8)
        page.drawString(72, 40, f"Example Clinic leaflet - page {page.getPageNumber()}")

    SimpleDocTemplate(str(path), title="Nature therapy", invariant=1).build(
        story, onFirstPage=footer, onLaterPages=footer
    )


def no_text(path: Path) -> None:
    """A 'scanned' page: only drawn shapes, no text layer."""
    page = canvas.Canvas(str(path), invariant=1)
    page.rect(72, 500, 300, 200, fill=1)
    page.circle(300, 300, 50)
    page.save()


def encrypted(source: Path, path: Path) -> None:
    writer = PdfWriter(clone_from=PdfReader(source))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    with path.open("wb") as handle:
        writer.write(handle)


def main() -> None:
    good, bad = HERE / "good", HERE / "bad"
    two_page(good / "nature-therapy.pdf")
    no_text(bad / "scanned.pdf")
    data = (good / "nature-therapy.pdf").read_bytes()
    (bad / "broken.pdf").write_bytes(data[: len(data) // 3])
    encrypted(good / "nature-therapy.pdf", bad / "encrypted.pdf")


if __name__ == "__main__":
    main()
