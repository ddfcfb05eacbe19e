"""Loading keeps structure (titles, headings, lists, pages) and names every failure."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from search import LoadError, Settings, load_document
from search.loaders.text import looks_like_heading

from .conftest import DATA, ROOT

GOOD, BAD = DATA / "good", DATA / "bad"


def load(path: Path):  # type: ignore[no-untyped-def]
    return load_document(path, path.name, Settings())


def headings(document) -> list[tuple[str, ...]]:  # type: ignore[no-untyped-def]
    return [section.breadcrumb for section in document.sections]


def test_markdown_keeps_heading_levels_lists_and_ignores_code_fences() -> None:
    document = load(GOOD / "sleep-therapy.md")
    assert document.title == "Sleep therapy"
    assert headings(document) == [
        ("Sleep therapy",),
        ("Sleep therapy", "What is sleep therapy?"),
        ("Sleep therapy", "How does sleep therapy work?"),
        ("Sleep therapy", "How does sleep therapy work?", "Techniques used"),
        ("Sleep therapy", "How do I get referred?"),
    ]
    techniques = document.sections[3]
    body = document.text[techniques.start:techniques.end]
    assert "- Stimulus control: the bed is kept for sleep.\n- Sleep restriction" in body
    assert "# this line is inside a code block" in body  # kept as text, not a heading


def test_bidi_and_zero_width_characters_never_reach_the_text(tmp_path: Path) -> None:
    # U+202E would show the number reversed in a browser; a caller could be given it so.
    page = tmp_path / "crisis.md"
    page.write_text("# Crisis line\n\n## How do I contact it?\n\nCall the crisis line on "
                    "\u202e0800 123 456\u202c, any time.\u200b Text\u2066 SHOUT\u2069 to 85258.\n",
                    encoding="utf-8")
    document = load(page)
    assert "Call the crisis line on 0800 123 456, any time. Text SHOUT to 85258." in document.text
    assert not any(ch in document.text for ch in "\u202e\u202c\u200b\u2066\u2069")
    assert document.title == "Crisis line"


def test_a_lone_surrogate_is_dropped_not_fatal(tmp_path: Path) -> None:
    from search.structure import Block, build_document

    document = build_document([Block("paragraph", "Waiting time \ud800is six weeks.")],
                              doc_id="x", source="x", format="pdf", fingerprint="f",
                              fallback_title="X")
    assert document.text == "Waiting time is six weeks."
    document.text.encode("utf-8")  # no lone surrogate left to fail on


def test_html_nested_past_the_parsers_limit_keeps_its_last_paragraph(tmp_path: Path) -> None:
    # libxml2 stops reading at about 255 levels: everything after the deepest point was lost.
    page = tmp_path / "deep.html"
    page.write_text("<html><body><h1>Deep page</h1><h2>How do I get referred?</h2><p>First."
                    "</p>" + "<div><span>" * 5_000 + "<p>Inner advice.</p>" + "</span></div>"
                    * 5_000 + "<p>Last paragraph: ring 0800 123 456.</p></body></html>")
    text = load(page).text
    assert "Inner advice." in text and "Last paragraph: ring 0800 123 456." in text


def test_html_too_deep_even_without_its_grouping_tags_is_refused(tmp_path: Path) -> None:
    page = tmp_path / "lists.html"
    page.write_text("<html><body><p>Top.</p>" + "<ul><li>" * 300 + "x" + "</li></ul>" * 300
                    + "<p>Bottom.</p></body></html>")
    with pytest.raises(LoadError, match=r"nested 602 elements deep; past 200") as error:
        load(page)
    assert error.value.reason == "html-too-deep"


def test_section_spans_hold_their_own_text_only() -> None:
    document = load(GOOD / "sleep-therapy.md")
    referral = document.sections[-1]
    assert document.text[referral.heading_start:].startswith("How do I get referred?")
    assert document.text[referral.start:referral.end].startswith("Ask your GP")
    assert document.text[referral.start:referral.end].endswith("15 working days.")


def test_plain_text_question_lines_become_headings() -> None:
    document = load(GOOD / "walking-group.txt")
    assert document.title == "Walking group therapy"
    assert [s.heading for s in document.sections] == [
        "What is walking group therapy?", "Who can it help?", "How long does it last?",
        "What to do next",
    ]
    next_steps = document.sections[-1]
    assert "0808 157 0998" in document.text[next_steps.start:next_steps.end]


@pytest.mark.parametrize(("line", "expected"), [
    ("What is CBT?", True),
    ("What to do next", True),
    ("Side effects", True),
    ("Call us free on:", False),
    ("0808 157 0998", False),
    ("Places are limited to ten people per group.", False),
    ("- a list item", False),
    ("lower-case start of a wrapped line", False),
])
def test_plain_text_heading_rule(line: str, expected: bool) -> None:
    assert looks_like_heading(line) is expected


def test_html_keeps_headings_and_drops_navigation_scripts_styles_and_footer() -> None:
    document = load(GOOD / "light-therapy.html")
    assert document.title == "Light therapy"
    assert ("Light therapy", "Are there any side effects?", "When to stop") in headings(document)
    for leak in ("SCRIPT-LEAK", "STYLE-LEAK", "NAV-LEAK", "FOOTER-LEAK", "<"):
        assert leak not in document.text
    assert "- Headaches or eye strain in the first days." in document.text


def test_pdf_keeps_headings_and_the_page_of_every_section() -> None:
    document = load(GOOD / "nature-therapy.pdf")
    assert document.title == "Nature therapy"
    pages = {s.heading: document.page_at(s.start) for s in document.sections}
    assert pages == {
        "What is nature therapy?": 1, "Who can it help?": 1, "How do I get referred?": 2,
    }
    assert len(document.page_starts) == 2
    assert "Example Clinic leaflet" not in document.text  # running footer dropped


def test_a_pdf_replaced_mid_ingest_is_parsed_from_the_bytes_fingerprinted(
        tmp_path: Path) -> None:
    """The ingest reads a file once, fingerprints those bytes, and the PDF parser parses
    them: not the path, which may hold a newer version by then."""
    read = (DATA / "good" / "nature-therapy.pdf").read_bytes()
    path = tmp_path / "nature-therapy.pdf"
    shutil.copy(ROOT / "corpus" / "medication-review.pdf", path)  # replaced meanwhile
    document = load_document(path, "nature-therapy.pdf", Settings(), data=read)
    expected = load_document(DATA / "good" / "nature-therapy.pdf", "nature-therapy.pdf",
                             Settings())
    assert document.fingerprint == expected.fingerprint
    assert document.text == expected.text
    assert "medication" not in document.text.lower()


def test_legacy_encodings_are_decoded() -> None:
    document = load(GOOD / "carers-latin1.txt")
    assert "café" in document.text and "naïve" in document.text


def test_fingerprint_is_the_file_content_hash() -> None:
    import hashlib

    path = GOOD / "walking-group.txt"
    assert load(path).fingerprint == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(("name", "reason"), [
    ("empty.md", "empty"),
    ("junk.txt", "binary"),
    ("half-utf16.txt", "undecodable"),
    ("broken.pdf", "pdf-broken"),
    ("encrypted.pdf", "pdf-encrypted"),
    ("scanned.pdf", "pdf-no-text"),
])
def test_unreadable_files_fail_with_a_specific_reason(name: str, reason: str) -> None:
    with pytest.raises(LoadError) as caught:
        load(BAD / name)
    assert caught.value.reason == reason
    assert str(caught.value)  # a sentence a person can act on


def test_unsupported_suffix_and_size_limit(tmp_path: Path) -> None:
    odd = tmp_path / "notes.pptx"
    odd.write_bytes(b"PK")
    with pytest.raises(LoadError) as caught:
        load(odd)
    assert caught.value.reason == "unsupported-type"
    assert "slides are not pages" in str(caught.value)
    big = tmp_path / "big.txt"
    big.write_text("Title\n\n" + "word " * 1000)
    with pytest.raises(LoadError) as caught:
        load_document(big, big.name, Settings(max_file_bytes=100))
    assert caught.value.reason == "too-large"


def test_a_pdf_that_hangs_the_parser_is_stopped(tmp_path: Path) -> None:
    settings = Settings(pdf_timeout_seconds=0.05)
    with pytest.raises(LoadError) as caught:
        load_document(GOOD / "nature-therapy.pdf", "nature-therapy.pdf", settings)
    assert caught.value.reason == "pdf-timeout"


# --- Word pages -------------------------------------------------------------------------

WORD_PAGES = sorted((ROOT / "corpus").glob("*.docx"))


def test_the_shipped_word_pages_keep_headings_lists_and_tables() -> None:
    assert len(WORD_PAGES) >= 3
    carers = load(ROOT / "corpus" / "carers-support-programme.docx")
    assert carers.format == "docx" and carers.title == "Carers support programme"
    assert [s.heading for s in carers.sections][:2] == [
        "What is the carers support programme?", "How does the carers support programme work?"]
    # A table becomes one list item per row, cells joined.
    assert "- 4 | Managing a crisis and making a crisis plan\n" in carers.text
    cst = load(ROOT / "corpus" / "cognitive-stimulation-therapy.docx")
    assert "- using opinions rather than facts\n- focusing on the person" in cst.text
    assert "- Main themed activity | 25 minutes" in cst.text


def test_a_custom_heading_style_with_an_outline_level_makes_sections() -> None:
    """hearing-voices-group.docx uses a house style, not "Heading 2", for its sections."""
    voices = load(ROOT / "corpus" / "hearing-voices-group.docx")
    assert len(voices.sections) == 8
    assert all(s.level == 2 for s in voices.sections)
    assert voices.sections[4].heading == "How long does the hearing voices group run for?"


@pytest.mark.parametrize("path", WORD_PAGES, ids=lambda p: p.name)
def test_word_headers_footers_and_comments_never_reach_the_text(path: Path) -> None:
    import zipfile

    from lxml import etree

    document = load(path)
    with zipfile.ZipFile(path) as archive:
        furniture = [" ".join("".join(p.itertext()).split())
                     for name in archive.namelist()
                     if name.startswith(("word/header", "word/footer", "word/comments"))
                     for p in etree.fromstring(archive.read(name)).iter()
                     if p.tag.endswith("}p")]
    assert [f for f in furniture if f], "the page should carry a header, footer or comment"
    for line in furniture:
        if line:
            assert line not in document.text
    assert "0808 157 0999" not in document.text  # the footer's number


@pytest.mark.parametrize("path", WORD_PAGES, ids=lambda p: p.name)
def test_every_word_section_span_holds_its_own_text(path: Path) -> None:
    document = load(path)
    for section in document.sections:
        assert document.text[section.heading_start:].startswith(section.heading)
        body = document.text[section.start:section.end]
        assert body and not body.startswith(section.heading)
        assert "About this page" not in body


def test_the_word_pages_are_made_reproducibly(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_corpus_docx",
                                                  ROOT / "tools" / "make_corpus_docx.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for source in sorted((ROOT / "tools" / "word_pages").glob("*.md")):
        assert module.build(source) == (ROOT / "corpus" / f"{source.stem}.docx").read_bytes(), \
            f"corpus/{source.stem}.docx is stale: run tools/make_corpus_docx.py"
