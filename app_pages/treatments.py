"""Treatments A–Z: every document in the index, each readable as a page of sections.

``?doc=<doc_id>`` opens a document; ``&section=<slug>`` opens it at that section (the
others folded) and ``&hl=<start>-<end>`` marks a quoted span, which is how the Ask and
Coverage pages link to their sources.
"""

from __future__ import annotations

import streamlit as st

from app_pages import display, state
from search import BREADCRUMB_SEPARATOR, Answerer, StoredDocument, find_treatments

_COLUMNS = 2


def _span(raw: str | None) -> tuple[int, int] | None:
    try:
        start, end = (int(part) for part in (raw or "").split("-", 1))
    except ValueError:
        return None
    return (start, end) if 0 <= start < end else None


def _document_page(stored: StoredDocument) -> None:
    document = stored.document
    st.page_link(display.TREATMENTS, label="All treatments", icon=":material/arrow_back:")
    st.title(display.escape(document.title))
    pages = f" · {len(document.page_starts)} pages" if document.page_starts else ""
    st.caption(f"Source file **{display.escape(document.source)}** · "
               f"{display.escape(document.format.upper())}{pages} · last ingested "
               f"{display.escape(display.when(stored.ingested_at))}")
    requested = st.query_params.get("section")
    marked = _span(st.query_params.get("hl"))
    sections = [s for s in document.sections if s.end > s.start or s.heading]
    if not sections:
        st.markdown(display.paragraphs(document.text))
        return
    if requested and any(s.slug == requested for s in sections):
        show_all = st.toggle("Open every section", value=False)
    else:
        show_all, requested = True, None
    for section in sections:
        heading = (BREADCRUMB_SEPARATOR.join(section.breadcrumb[1:]) or section.heading
                   or "Introduction")
        body = document.text[section.start:section.end]
        page = document.page_at(section.start)
        chosen = section.slug == requested
        with st.expander(display.escape(heading), expanded=show_all or chosen,
                         icon=":material/bookmark:" if chosen else None):
            quoted = marked if marked and section.start <= marked[0] < section.end else None
            if quoted:
                st.markdown(display.highlight(document.text, (section.start, section.end),
                                              quoted), unsafe_allow_html=True)
            else:
                st.markdown(display.paragraphs(body) or "*(no text under this heading)*")
            if quoted and document.page_starts:  # a PDF opens at the quote's own page
                st.caption(f"The quote is on page {document.page_at(quoted[0])} of the PDF")
            elif page:
                st.caption(f"Page {page}")


def _a_to_z(answerer: Answerer) -> None:
    documents = answerer.documents
    st.title("Treatments A–Z")
    typed = st.text_input("Find a treatment", key="treatment_filter",
                          placeholder="A name, even misspelt, or what it is for: dementia, "
                                      "talking therapy")
    found = find_treatments(answerer.searcher, typed)
    shown = [documents[d] for d in found.by_name]
    total = len(found.by_name) + len(found.about)
    st.caption(f"{total} of {len(documents)} pages in the index")
    if found.about:
        st.subheader(f"Pages about “{display.escape(typed.strip())}”", anchor=False)
        for doc_id in found.about:
            st.page_link(display.TREATMENTS, label=display.escape(documents[doc_id].document.title),
                         query_params={"doc": doc_id})
        if shown:
            st.subheader("Names that match", anchor=False)
    letters: dict[str, list[StoredDocument]] = {}
    for stored in shown:
        first = next((ch for ch in stored.document.title.upper() if ch.isalnum()), "#")
        letters.setdefault(first if first.isalpha() else "#", []).append(stored)
    columns = st.columns(_COLUMNS)
    before = 0
    for letter, group in letters.items():
        # Letters run down the first column, then the next: each holds about a third.
        column = columns[min(before * _COLUMNS // max(len(shown), 1), _COLUMNS - 1)]
        before += len(group)
        with column:
            st.subheader(letter, anchor=False)
            for stored in group:
                st.page_link(display.TREATMENTS, label=display.escape(stored.document.title),
                             query_params={"doc": stored.document.doc_id})


def main() -> None:
    answerer = state.answerer()
    if answerer is None:
        return
    documents = answerer.documents
    doc_id = st.query_params.get("doc")
    if doc_id and doc_id in documents:
        _document_page(documents[doc_id])
        return
    if doc_id:
        st.warning("That page is not in the index any more.", icon=":material/warning:")
    _a_to_z(answerer)


main()
