"""How document text reaches the screen: escaped, always.

Document text and questions are never rendered as raw HTML or live Markdown: a page could
carry ``<script>`` or a Markdown image that makes the browser fetch a URL. ``escape``
HTML-escapes ``& < >`` and turns every character Markdown (or Streamlit's extensions:
``$`` for maths, ``:`` for icons) treats as syntax into a numeric character reference, so
the text shows exactly as written. The one piece of HTML we add, ``<mark>`` around a quote,
is wrapped around text that is already escaped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

import streamlit as st

from search import Answer, Citation, Document, Section

_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"} | {
    char: f"&#{ord(char)};" for char in "\\`*_{}[]()#+-.!|~$:=\"'"
}
_SPECIAL = re.compile("[" + re.escape("".join(_ENTITIES)) + "]")

ASK = "app_pages/ask.py"
TREATMENTS = "app_pages/treatments.py"
COVERAGE = "app_pages/coverage.py"
INDEX = "app_pages/index_status.py"


def escape(text: str) -> str:
    """``text`` safe inside ``st.markdown`` (with or without ``unsafe_allow_html``)."""
    return _SPECIAL.sub(lambda match: _ENTITIES[match.group()], text)


def paragraphs(text: str) -> str:
    """Escaped Markdown keeping the text's paragraphs and line breaks (not its indents,
    which Markdown would turn into code blocks)."""
    blocks = re.split(r"\n\s*\n", text.strip())
    return "\n\n".join("  \n".join(escape(line.strip()) for line in block.splitlines())
                       for block in blocks)


def highlight(text: str, context: tuple[int, int], *quotes: tuple[int, int]) -> str:
    """``text[context]`` escaped, with each ``text[quote]`` wrapped in ``<mark>``: HTML for
    ``st.markdown(..., unsafe_allow_html=True)``, built only from escaped pieces."""
    start, end = context
    spans = sorted((max(a, start), min(b, end)) for a, b in quotes if max(a, start) < min(b, end))
    pieces, position = [], start
    for q_start, q_end in spans:
        q_start = max(q_start, position)
        if q_start >= q_end:
            continue
        pieces += [escape(text[position:q_start]), "<mark>", escape(text[q_start:q_end]),
                   "</mark>"]
        position = q_end
    pieces.append(escape(text[position:end]))
    return _lines("".join(pieces))


def _lines(escaped: str) -> str:
    return re.sub(r"\n", "<br>", escaped.strip())


def breadcrumb(title: str, section: str) -> str:
    """"Title › Section", without repeating a title the breadcrumb already starts with."""
    if not section or section == title:
        return title
    return section if section.startswith(title) else f"{title} › {section}"


def answer_markdown(answer: Answer) -> str:
    """The answer's sentences, escaped, each followed by its markers as links to their
    source cards below (``#source-n``)."""
    return " ".join(escape(sentence.text) + "".join(
        f" [&#91;{n}&#93;](#source-{n})" for n in sentence.citations)
        for sentence in answer.sentences) or escape(answer.answer)


def copy_text(answer: Answer) -> str:
    """The answer with its citation markers and sources (file names too): to paste where
    the sources must be traceable."""
    lines = [answer.answer, "", "Sources:"]
    for c in answer.citations:
        page = f" (page {c.page})" if c.page else ""
        lines.append(f"[{c.n}] {breadcrumb(c.title, c.breadcrumb_text)}{page} — {c.source}")
    return "\n".join(lines)


def read_out_text(answer: Answer, warnings: Sequence[str] = ()) -> str:
    """What a person reads to a caller: the sentences as plain text (no markers, no file
    names), then where they come from by treatment and section, then any warning."""
    lines = [" ".join(s.text for s in answer.sentences) or answer.answer, ""]
    sources = list(dict.fromkeys(
        breadcrumb(c.title, c.breadcrumb_text) + (f", page {c.page}" if c.page else "")
        for c in answer.citations))
    if sources:
        listed = "; ".join(sources)
        lines.append(f"From our pages: {listed}" + ("" if listed[-1] in ".?!" else "."))
    for warning in warnings:
        lines += ["", f"Check before reading out: {warning}"]
    return "\n".join(lines).strip()


def when(iso: str) -> str:
    """``2026-11-26T16:17:02+00:00`` → ``26 Nov 2026, 16:17 UTC``."""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso or "unknown"
    zone = moment.tzname() or ""
    return moment.strftime("%-d %b %Y, %H:%M") + (f" {zone}" if zone else "")


def open_link(doc_id: str, section: Section | None, label: str = "Open the whole page here",
              span: tuple[int, int] | None = None) -> None:
    """A link to the Treatments page showing ``doc_id`` opened at ``section``."""
    params = {"doc": doc_id}
    if section is not None:
        params["section"] = section.slug
    if span is not None:
        params["hl"] = f"{span[0]}-{span[1]}"
    st.page_link(TREATMENTS, label=label, icon=":material/article:", query_params=params)


def citation_card(citations: list[Citation], document: Document,
                  context: tuple[int, int]) -> None:
    """One cited passage, once, with every sentence quoted from it highlighted: its markers,
    title, breadcrumb, page, and a link that opens the page at the first quote."""
    first = citations[0]
    page = f" · page {first.page}" if first.page else ""
    markers = "".join(f"[{c.n}]" for c in citations)
    with st.container(border=True):
        # Anchors the answer's [n] markers link to (our own ids: numbers only).
        anchors = "".join(f'<span id="source-{c.n}"></span>' for c in citations)
        st.markdown(f"{anchors}**{escape(markers)} {escape(first.title)}**",
                    unsafe_allow_html=True)
        st.caption(escape(breadcrumb(first.title, first.breadcrumb_text)) + page + " · "
                   + escape(first.source))
        st.markdown(highlight(document.text, context, *((c.start, c.end) for c in citations)),
                    unsafe_allow_html=True)
        open_link(first.doc_id, document.section_at(first.start),
                  span=(first.start, first.end))
