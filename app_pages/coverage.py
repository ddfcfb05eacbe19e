"""Coverage, for the content team: documents × standard questions, the questions users
asked that we could not answer well, and facts that disagree across documents."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from app_pages import display, state
from search import (
    BAND_LABELS,
    GAP_STATUSES,
    Answerer,
    Band,
    ConfigError,
    CoverageMatrix,
    CoverageSettings,
    Disagreement,
    StoredDocument,
    band,
    disagreement_rows,
    frame_csv,
    merge_similar,
)

COLOURS: dict[Band, str] = {
    "good": "#b7e4c7", "fair": "#fff3bf", "weak": "#ffd8a8", "missing": "#ffc9c9",
}


def _swatch(rating: Band, text: str) -> str:
    """A coloured label (HTML): only our own words, never document text, go in here."""
    return (f'<span style="background-color:{COLOURS[rating]};color:#1b1b1b;padding:0.1em '
            f'0.45em;border-radius:0.3em;white-space:nowrap">{text}</span>')


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _questions(defaults: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """The standard questions: Settings.coverage, or this session's edited list."""
    current = st.session_state.get("coverage_questions", defaults)
    with st.expander("Standard questions", icon=":material/tune:"):
        st.caption("One per line: column label | question. {topic} becomes each page's title. "
                   "Edits last for this session; the defaults are Settings.coverage.questions.")
        text = st.text_area("Standard questions", "\n".join(f"{lab} | {q}" for lab, q in current),
                            height=220, label_visibility="collapsed")
        if st.button("Use these questions"):
            parsed = tuple((label.strip(), question.strip()) for label, _, question in
                           (line.partition("|") for line in text.splitlines() if line.strip()))
            try:
                CoverageSettings(questions=parsed)
            except ConfigError as error:
                st.warning(str(error))
            else:
                if any(not question for _, question in parsed):
                    st.warning("Each line needs a label, a | and a question.")
                else:
                    st.session_state["coverage_questions"] = parsed
                    st.rerun()
        if current != defaults and st.button("Back to the defaults"):
            st.session_state.pop("coverage_questions", None)
            st.rerun()
    return current


def _matrix(answerer: Answerer, questions: tuple[tuple[str, str], ...]) -> CoverageMatrix:
    """The matrix of these questions over the served generation, worked out once for all
    sessions: the default questions' in the background as soon as a generation is served
    (``state.prepare_coverage``), an edited list's here, with its progress."""
    served = state.served()
    key = ("coverage", questions)
    if served.ready(answerer, key) or questions == state.settings().coverage.questions:
        with st.spinner("Working out coverage for this generation…"):
            state.prepare_coverage(answerer)
            return served.derived(answerer, key, lambda current: state.coverage_of(
                current, questions))

    def compute(current: Answerer) -> CoverageMatrix:
        bar = st.progress(0.0, text="Asking each page the standard questions…")

        def advance(done: int, total: int) -> None:
            bar.progress(done / total, text=f"Asking each page the standard questions… "
                                            f"{done} of {total}")

        matrix = state.coverage_of(current, questions, advance)
        bar.empty()
        return matrix

    return served.derived(answerer, key, compute)


def _row_names(matrix: CoverageMatrix, documents: dict[str, StoredDocument]) -> list[str]:
    titles = [documents[d].document.title for d in matrix.doc_ids]
    return [t if titles.count(t) == 1 else f"{t} ({d})" for t, d in zip(titles, matrix.doc_ids,
                                                                        strict=True)]


def _show_matrix(matrix: CoverageMatrix, documents: dict[str, StoredDocument],
                 settings: CoverageSettings) -> None:
    rows = _row_names(matrix, documents)
    values = pd.DataFrame([[matrix.cell(d, label).confidence for label in matrix.labels]
                           for d in matrix.doc_ids], index=rows, columns=list(matrix.labels))
    bands = pd.DataFrame([[band(matrix.cell(d, label), settings) for label in matrix.labels]
                          for d in matrix.doc_ids], index=rows, columns=list(matrix.labels))
    counts = {b: int((bands == b).sum().sum()) for b in COLOURS}
    st.markdown(" ".join(_swatch(b, f"{BAND_LABELS[b]}: {counts[b]}") for b in COLOURS),
                unsafe_allow_html=True)
    st.caption(f"Cells show how likely the page answers the question asked of it alone "
               f"(the answerability model): well from {settings.good:.2f}, fairly from "
               f"{settings.fair:.2f}; a page with no section for it, or without the fact asked "
               "for, is not covered. Select a cell to see why, and the passage.")
    styled = values.style.format("{:.2f}").apply(
        lambda _: bands.replace({b: f"background-color: {c}; color: #1b1b1b"
                                 for b, c in COLOURS.items()}), axis=None)
    narrow = {label: st.column_config.NumberColumn(label, width="small", format="%.2f")
              for label in matrix.labels}
    event = st.dataframe(styled, key="matrix", on_select="rerun", column_config=narrow,
                         selection_mode="single-cell", height=min(35 * len(rows) + 40, 720))
    cells = event.selection.cells if event is not None else []
    if cells and cells[0][0] < len(matrix.doc_ids) and cells[0][1] in matrix.labels:
        row, label = cells[0]  # (a selection can outlive a re-ingest or new questions)
        _show_cell(matrix, matrix.doc_ids[row], str(label), documents, settings)
    wide = values.round(3)
    wide.insert(0, "source", list(matrix.doc_ids))
    wide["not covered"] = ["; ".join(label for label in matrix.labels
                                     if bands.loc[row, label] == "missing") for row in rows]
    st.download_button("Download the matrix (CSV)", frame_csv(wide.reset_index(names="document")),
                       file_name="coverage-matrix.csv", mime="text/csv",
                       icon=":material/download:")


def _show_cell(matrix: CoverageMatrix, doc_id: str, label: str,
               documents: dict[str, StoredDocument], settings: CoverageSettings) -> None:
    cell = matrix.cell(doc_id, label)
    rating = band(cell, settings)
    document = documents[doc_id].document
    st.markdown(f"**{display.escape(document.title)}: {display.escape(label)}** "
                + _swatch(rating, f"{BAND_LABELS[rating]}, {cell.confidence:.2f}"),
                unsafe_allow_html=True)
    st.caption(f"Asked: {display.escape(cell.question)}")
    if cell.reason:
        st.markdown(f"**Why:** {display.escape(cell.reason)}")
    if cell.citation is None:
        st.info("No passage on this page answers it closely enough to quote.")
        if cell.place is None:
            display.open_link(doc_id, None, label="Open the page: it would go near the top")
        else:
            heading = display.escape(cell.place.heading)
            display.open_link(doc_id, cell.place,
                              label=f"Open the page where it would go: after “{heading}”"
                              if cell.after else f"Open the page at “{heading}”")
        return
    section = document.section_at(cell.citation.start)
    context = (section.start, section.end) if section else (cell.citation.start,
                                                            cell.citation.end)
    display.citation_card([cell.citation], document, context)


def _show_gaps(answerer: Answerer) -> None:
    store = state.feedback_store()
    if store is None:
        st.info("Feedback is switched off, so no questions are collected.")
        return
    gaps = store.gaps()
    if not gaps:
        st.info("No question has been left unanswered or rated poorly yet.")
        return
    # Each question is embedded once a session and generation, not on every rerun.
    known: dict[tuple[str, str], np.ndarray] = st.session_state.setdefault("gap_vectors", {})
    generation = answerer.searcher.generation
    new = [g.question for g in gaps if (generation, g.question) not in known]
    if new:
        known.update(zip(((generation, q) for q in new),
                         answerer.searcher.embedder.embed_documents(new), strict=True))
    vectors = np.vstack([known[(generation, g.question)] for g in gaps])
    gaps = merge_similar(gaps, vectors, state.settings().coverage.gap_similarity)
    statuses = store.statuses(gaps)
    if not st.toggle("Show gaps marked resolved or won't fix", key="gaps_closed"):
        gaps = [g for g in gaps if statuses[g.question] == "open"]
    if not gaps:
        st.info("Every gap is marked resolved or won't fix.")
        return
    table = pd.DataFrame([{
        "question": g.question, "status": statuses[g.question], "times": g.count,
        "not covered": g.not_covered,
        "not helpful": g.not_helpful, "wrong or outdated": g.wrong_passage,
        "last asked": g.last_asked, "also asked as": " | ".join(g.wordings[1:]),
        "comments": " | ".join(g.comments),
    } for g in gaps])
    st.caption("Questions that were not covered or got poor feedback, grouped when they mean "
               "the same, most asked first (then the most recent). Phone numbers, e-mail "
               "addresses and NHS numbers were masked before storing.")
    st.dataframe(table, hide_index=True)
    with st.expander("Every wording and comment, in full"):
        for gap in gaps:
            st.markdown(f"**{display.escape(gap.question)}** ({gap.count}×)")
            for wording in gap.wordings[1:]:
                st.markdown(f"- also asked as: {display.escape(wording)}")
            for comment in gap.comments:
                st.markdown(f"- comment: {display.escape(comment)}")
    st.download_button("Download the gap list (CSV)", frame_csv(table),
                       file_name="coverage-gaps.csv", mime="text/csv",
                       icon=":material/download:")
    with st.form("mark_gap"):
        by_question = {g.question: g for g in gaps}
        chosen = st.selectbox("Mark a gap", list(by_question), key="gap_to_mark")
        status = st.radio("As", GAP_STATUSES, horizontal=True, key="gap_status")
        if st.form_submit_button("Save") and chosen is not None:
            store.mark_gap(by_question[chosen], status)
            st.rerun()


def _show_disagreements(found: list[Disagreement],
                        documents: dict[str, StoredDocument]) -> None:
    if not found:
        st.success("No phone number or waiting time disagrees across pages.")
        return
    for item in found:
        written = {value: facts[0].written for value, facts in item.values}
        with st.container(border=True):
            st.markdown(f"**{item.kind.capitalize()}: {display.escape(item.topic)}**")
            for value, facts in item.values:
                pages = len({f.doc_id for f in facts})
                note = " (most pages)" if value == item.majority else " :red[**check**]"
                st.markdown(f"- **{display.escape(written[value])}** on "
                            f"{_plural(pages, 'page')}{note}")
            for fact in item.flagged:
                document = documents[fact.doc_id].document
                display.open_link(fact.doc_id, document.section_at(fact.start),
                                  label=display.escape(f"Check {document.title}: "
                                                       f"“{fact.written}”"),
                                  span=(fact.start, fact.end))
    rows = disagreement_rows(found, documents)
    st.download_button("Download the disagreements (CSV)", frame_csv(pd.DataFrame(rows)),
                       file_name="coverage-disagreements.csv", mime="text/csv",
                       icon=":material/download:")


def main() -> None:
    answerer = state.answerer()
    if answerer is None:
        return
    settings = state.settings().coverage
    documents = answerer.documents
    st.title("Coverage")
    found = state.disagreements_in(answerer)
    gaps = state.feedback_store()
    gap_count = len(gaps.gaps()) if gaps is not None else 0
    st.caption(f"{_plural(len(documents), 'page')} · {_plural(len(found), 'fact')} "
               f"disagreeing across pages · {_plural(gap_count, 'question')} not covered or "
               "rated poorly")
    matrix_tab, gaps_tab, facts_tab = st.tabs(
        ["Documents × questions", f"Gaps ({gap_count})", f"Disagreements ({len(found)})"])
    with facts_tab:
        _show_disagreements(found, documents)
    with gaps_tab:
        _show_gaps(answerer)
    with matrix_tab:
        questions = _questions(settings.questions)
        _show_matrix(_matrix(answerer, questions), documents, settings)


main()
