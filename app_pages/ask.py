"""Ask (the default page): a question in, the cited answer out.

Order on the page is deliberate: the crisis banner first, then the answer with its [n]
markers, the copy block for a caller, the cited passages, feedback. ``?q=`` in a link fills
the question once and is then removed from the address bar, so callers' words do not
linger in browser history.
"""

from __future__ import annotations

import hashlib

import streamlit as st

from app_pages import display, state
from search import (
    NOT_COVERED,
    USER_VERDICTS,
    Answer,
    Answerer,
    Chunk,
    Citation,
    FeedbackStore,
    Filters,
    SearchError,
    Side,
    Verdict,
)

#: Sidebar section filter → heading words it matches (any case; see Filters).
SECTION_GROUPS: dict[str, tuple[str, ...]] = {
    "What it is": ("what is", "what are"),
    "How it works": ("work",),
    "What happens in a session": ("what happens",),
    "Who it can help": ("who ",),
    "How long it takes": ("how long",),
    "Side effects and risks": ("side effect", "risk"),
    "Referral and next steps": ("refer", "what to do next", "how do i get"),
    "About this page": ("about this page",),
}
_ANSWERS_KEPT = 32


#: Widget keys whose values outlive a visit to another page (Streamlit forgets the state of
#: widgets a page did not draw): the question box and the filters.
_KEPT = ("question", "filter_docs", "filter_sections")


#: Questions of the session listed in the sidebar, at most.
_HISTORY_KEPT = 10


def _restore_inputs() -> None:
    """Back from another page, the question and filters are as they were; a link's ?q=
    fills the box once."""
    for key in _KEPT:
        if key not in st.session_state and f"kept_{key}" in st.session_state:
            st.session_state[key] = st.session_state[f"kept_{key}"]
    if "q" in st.query_params:
        st.session_state["question"] = st.query_params["q"]
        del st.query_params["q"]


def _keep_inputs() -> None:
    for key in _KEPT:
        if key in st.session_state:
            st.session_state[f"kept_{key}"] = st.session_state[key]


def _filters(answerer: Answerer) -> Filters:
    documents = answerer.documents
    titles = {doc_id: stored.document.title for doc_id, stored in documents.items()}
    if "filter_docs" in st.session_state:  # a re-ingest may have removed a chosen page
        st.session_state["filter_docs"] = [d for d in st.session_state["filter_docs"]
                                           if d in titles]
    with st.sidebar:
        st.subheader("Filters")
        doc_ids = st.multiselect("Treatment", sorted(titles, key=lambda d: titles[d].lower()),
                                 format_func=titles.__getitem__, key="filter_docs",
                                 placeholder="All treatments")
        groups = st.multiselect("Section", list(SECTION_GROUPS), key="filter_sections",
                                placeholder="All sections")
    return Filters(frozenset(doc_ids), tuple(w for g in groups for w in SECTION_GROUPS[g]))


def _show_comparison(sides: tuple[Side, ...], answerer: Answerer) -> None:
    """The named treatments' sections for what is asked, side by side, quoted whole."""
    st.caption("Side by side, quoted word for word from each page: no sentence here is "
               "ours.")
    for column, side in zip(st.columns(len(sides)), sides, strict=True):
        with column, st.container(border=True):
            st.markdown(f"**{display.escape(side.title)}**")
            if side.missing:
                st.warning(display.escape(side.missing), icon=":material/help:")
                continue
            document = answerer.documents[side.doc_id].document
            st.caption(display.escape(side.heading))
            st.markdown(display.paragraphs(document.text[side.start:side.end]))
            display.open_link(side.doc_id, document.section_at(side.start),
                              span=(side.start, side.end))


def _chosen_only(answerer: Answerer, filters: Filters) -> None:
    """A treatment chosen in the sidebar narrows every answer: say so loudly, and offer
    to search everything with one click."""
    titles = sorted(answerer.documents[d].document.title for d in filters.doc_ids
                    if d in answerer.documents)
    st.warning(f"**Only {display.escape(', '.join(titles))}** is searched: the treatment "
               "chosen in the sidebar.", icon=":material/filter_alt:")
    st.button("Search all treatments", icon=":material/filter_alt_off:",
              on_click=lambda: st.session_state.update(filter_docs=[]))


def _remember(question: str) -> None:
    """This session's questions, newest first (kept in the session only, never stored)."""
    history: list[str] = st.session_state.setdefault("history", [])
    if question in history:
        history.remove(question)
    history.insert(0, question)
    del history[_HISTORY_KEPT:]


def _history() -> None:
    """The session's earlier questions in the sidebar: one click asks again."""
    history: list[str] = st.session_state.get("history", [])
    if len(history) < 2:
        return
    with st.sidebar:
        st.subheader("This session's questions")
        for n, earlier in enumerate(history[1:]):
            st.button(earlier if len(earlier) <= 60 else earlier[:57] + "…", key=f"history_{n}",
                      on_click=lambda q=earlier: st.session_state.update(question=q),
                      help=earlier, width="stretch")


def _ask(answerer: Answerer, question: str, filters: Filters) -> Answer:
    """Answers are kept per session: a rerun (feedback, filters) does not ask again."""
    answers: dict[tuple[str, str, Filters], Answer] = st.session_state.setdefault("answers", {})
    key = (answerer.searcher.generation, question, filters)
    if key not in answers:
        if len(answers) >= _ANSWERS_KEPT:
            answers.clear()
        with st.spinner("Finding the answer…"):
            answers[key] = answerer.ask(question, filters=filters)
    return answers[key]


def _chunk(answerer: Answerer, answer: Answer, chunk_id: str) -> Chunk | None:
    for hit in answer.passages:
        if hit.chunk.chunk_id == chunk_id:
            return hit.chunk
    return answerer.chunk(chunk_id)


def _show_answer(answer: Answer, answerer: Answerer) -> None:
    documents = answerer.documents
    with st.container(border=True):
        st.caption(":material/verified: Approved wording, signed off by the content team"
                   if answer.approved else "Answer, quoted word for word from our pages")
        st.markdown(display.answer_markdown(answer))
    warnings = _check_facts(answer)
    st.caption("To read out or paste: copy with the icon at the top right of the box.")
    # Room for the copy icon, which otherwise sits over the end of the first line (it hid
    # the last digit of 0808 157 0515 at 1440 px). Our own CSS, no document text.
    st.html("<style>[data-testid='stCode'] pre {padding-right: 3rem !important;}</style>")
    read_out, cited = st.tabs(["Read out", "With citations"])
    with read_out:
        st.code(display.read_out_text(answer, warnings), language=None, wrap_lines=True)
    with cited:
        st.code(display.copy_text(answer), language=None, wrap_lines=True)
    st.subheader("Sources")
    by_passage: dict[str, list[Citation]] = {}
    for citation in answer.citations:  # one card a passage, whatever it is quoted for
        by_passage.setdefault(citation.chunk_id, []).append(citation)
    for citations in by_passage.values():
        first = citations[0]
        stored = documents.get(first.doc_id)
        if stored is None:
            continue
        document = stored.document
        chunk = _chunk(answerer, answer, first.chunk_id)
        if chunk is not None and all(chunk.start <= c.start and c.end <= chunk.end
                                     for c in citations):
            context = (chunk.start, chunk.end)
        else:  # an approved answer cites a whole section
            section = document.section_at(first.start)
            context = (section.start, section.end) if section else (first.start, first.end)
        display.citation_card(citations, document, context)


def _check_facts(answer: Answer) -> list[str]:
    """A quoted phone number or waiting time that most other pages state differently is
    flagged before anyone reads it out (``Answer.warnings``). Returns them as plain text."""
    for plain in answer.warnings:
        st.warning(f"**Check before reading out:** {display.escape(plain)} It is "
                   "listed on the Coverage page.", icon=":material/rule:")
    return list(answer.warnings)


def _show_not_covered(answer: Answer, answerer: Answerer) -> None:
    reason = answer.reason or ("None of our pages answers this question closely enough to "
                               "quote.")
    st.warning(f"**{answer.answer}** {display.escape(reason)} The passages "
               "below are the nearest we have: they are not an answer.",
               icon=":material/help:")
    if not answer.passages:
        return
    st.subheader("Nearest passages (not an answer)")
    documents = answerer.documents
    for hit in answer.passages:
        chunk = hit.chunk
        stored = documents.get(chunk.doc_id)
        page = f" · page {chunk.page}" if chunk.page else ""
        with st.container(border=True):
            st.markdown(f"**{display.escape(chunk.title)}**")
            st.caption(display.escape(chunk.breadcrumb_text) + page + " · "
                       + display.escape(chunk.source))
            st.markdown(display.paragraphs(chunk.text))
            if stored is not None:
                display.open_link(chunk.doc_id,
                                  stored.document.section_at(chunk.start))


def _log_not_covered(answer: Answer, store: FeedbackStore | None, generation: str) -> None:
    """Unanswered questions reach the content team's gap list, once per session. Crisis
    questions are not logged: they are not content gaps, and are the most sensitive."""
    if store is None or answer.answered or answer.safety.crisis:
        return
    logged: set[tuple[str, str]] = st.session_state.setdefault("logged_not_covered", set())
    if (generation, answer.question) not in logged:
        store.log_not_covered(answer.question, answer.answer, generation)
        logged.add((generation, answer.question))


def _feedback(answer: Answer, store: FeedbackStore, generation: str,
              keep: frozenset[str]) -> None:
    key = hashlib.sha256(f"{generation}\0{answer.question}\0{answer.answer}".encode()
                         ).hexdigest()[:12]
    sent: set[str] = st.session_state.setdefault("feedback_sent", set())
    if key in sent:
        st.success("Thank you: your feedback was saved.", icon=":material/check:")
        return
    passages = {c.chunk_id: f"[{c.n}] {display.breadcrumb(c.title, c.breadcrumb_text)}"
                for c in answer.citations} or {
        h.chunk.chunk_id: h.chunk.breadcrumb_text for h in answer.passages}
    with st.form(f"feedback-{key}"):
        st.markdown("**Was this answer right?**")
        verdict: Verdict | None = st.radio(
            "Your verdict", list(USER_VERDICTS), format_func=USER_VERDICTS.__getitem__,
            index=None, horizontal=True, label_visibility="collapsed")
        passage = st.selectbox("Which passage is wrong or outdated? (optional)",
                               list(passages), format_func=passages.__getitem__, index=None)
        comment = st.text_input("Comment (optional)",
                                placeholder="What is wrong or missing? No caller details, "
                                            "please.")
        if st.form_submit_button("Send feedback"):
            if verdict is None:
                st.warning("Choose helpful, not helpful or wrong or outdated passage first.")
            else:
                store.record(answer.question, answer.answer, verdict, comment or "",
                             generation, passage or "", keep)
                sent.add(key)
                st.rerun()


def main() -> None:
    banner = st.container()  # the crisis banner, above everything else when it fires
    answerer = state.answerer()
    if answerer is None:
        return
    _restore_inputs()
    filters = _filters(answerer)
    st.title("Ask")
    question = st.text_input(
        "Ask about a treatment, then press Enter", key="question",
        placeholder="e.g. How long does CBT take?  How do I get referred?")
    _keep_inputs()
    if not question.strip():
        st.caption("Answers quote our treatment pages word for word, each sentence with its "
                   "source [n]. Filters are in the sidebar.")
        return
    try:
        answer = _ask(answerer, question, filters)
    except SearchError as error:
        st.warning(str(error), icon=":material/warning:")
        return
    if answer.safety.crisis:
        banner.error(f"#### Crisis: act on this first\n{display.escape(answer.safety.guidance)}",
                     icon=":material/emergency:")
    _remember(question)
    if answer.notice:
        st.info(display.escape(answer.notice), icon=":material/info:")
    elif filters.doc_ids:
        _chosen_only(answerer, filters)
    elif filters:
        st.caption("Filtered: only the sections chosen in the sidebar.")
    store = state.feedback_store()
    generation = answerer.searcher.generation
    if answer.comparison:
        _show_comparison(answer.comparison, answerer)
    elif answer.answered:
        _show_answer(answer, answerer)
    elif answer.safety.crisis:  # the banner is what matters; the rest stays folded
        with st.expander(f"{NOT_COVERED} Nearest passages"):
            _show_not_covered(answer, answerer)
    else:
        _show_not_covered(answer, answerer)
        _log_not_covered(answer, store, generation)
    if store is not None and not answer.safety.crisis:  # a crisis message is never stored
        _feedback(answer, store, generation, state.served().service_numbers(answerer))
    _history()


main()
