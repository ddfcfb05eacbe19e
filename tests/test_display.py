"""The app's escaping: document text shows as written and is never live HTML or Markdown."""

from __future__ import annotations

import re

from app_pages.display import breadcrumb, escape, highlight, paragraphs, when

HOSTILE = ("<script>alert(1)</script> <img src=x onerror=alert(2)> ![leak](http://x.invalid/a.png) "
           "**bold** $x$ :red[red] [link](javascript:alert(3)) # heading")


def _decoded(markup: str) -> str:
    """What a Markdown renderer shows for escaped text: the references decoded."""
    named = {"&amp;": "&", "&lt;": "<", "&gt;": ">"}
    text = re.sub(r"&#(\d+);", lambda m: chr(int(m.group(1))), markup)
    return re.sub(r"&(amp|lt|gt);", lambda m: named[m.group()], text)


def test_escape_leaves_no_markup_and_loses_no_character() -> None:
    escaped = escape(HOSTILE)
    assert "&lt;script&gt;" in escaped and "&lt;img" in escaped
    bare = re.sub(r"&(#\d+|amp|lt|gt);", "", escaped)  # the references themselves
    for live in ("<", ">", "!", "[", "]", "(", ")", "*", "$", ":", "#", "`", "_", "|"):
        assert live not in bare
    assert _decoded(escaped) == HOSTILE


def test_highlight_wraps_only_the_escaped_quote_in_mark() -> None:
    text = "Before <b>it</b>. The quoted <script>x</script> sentence. After."
    quote_start = text.index("The")
    quote_end = text.index(" After")
    html = highlight(text, (0, len(text)), (quote_start, quote_end))
    assert html.count("<mark>") == 1 and html.count("</mark>") == 1
    assert "<b>" not in html and "<script>" not in html
    inner = html[html.index("<mark>") + 6:html.index("</mark>")]
    assert _decoded(inner) == text[quote_start:quote_end]


def test_highlight_keeps_line_breaks_and_clips_to_the_context() -> None:
    text = "one\n\ntwo three\nfour"
    assert highlight(text, (0, len(text)), (5, 8)) == "one<br><br><mark>two</mark> three<br>four"
    assert highlight(text, (5, 14), (0, 3)) == "two three"  # quote outside: no mark


def test_paragraphs_keep_breaks_and_drop_indents() -> None:
    assert paragraphs("    indented\nnext\n\n- item") == "indented  \nnext\n\n&#45; item"


def test_breadcrumb_and_dates() -> None:
    assert breadcrumb("CBT", "CBT › How long?") == "CBT › How long?"
    assert breadcrumb("CBT", "How long?") == "CBT › How long?"
    assert when("2026-11-26T16:17:02+00:00") == "26 Nov 2026, 16:17 UTC"
    assert when("") == "unknown"


def test_highlight_marks_several_quotes_of_one_passage() -> None:
    text = "First one. Second <i>two</i>. Third three."
    first, third = (0, 10), (text.index("Third"), len(text))
    html = highlight(text, (0, len(text)), third, first)  # any order
    assert html.count("<mark>") == 2
    assert html.startswith("<mark>First one&#46;</mark>")
    assert html.endswith("<mark>Third three&#46;</mark>")
    assert "<i>" not in html
    assert highlight(text, (0, len(text)), first, (5, 8)).count("<mark>") == 1  # overlap
