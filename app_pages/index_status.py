"""Index: what is being served, and a re-ingest of the corpus with a progress bar.

A re-ingest builds a new generation beside the served one (``build_index`` publishes it
atomically); every session keeps answering from the old one until the switch, and the next
rerun of each page opens the new generation (``state`` keys its cache by generation).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pandas as pd
import streamlit as st

from app_pages import display, state
from search import Answerer, IndexLockedError, IngestReport, Manifest, SearchError, build_index

_STAGES = {"load": "Reading files", "embed": "Embedding passages"}


def _status(manifest: Manifest, answerer: Answerer | None) -> None:
    columns = st.columns(4)
    columns[0].metric("Documents", len(manifest.documents))
    columns[1].metric("Chunks", manifest.chunk_count)
    columns[2].metric("Schema version", manifest.schema_version)
    columns[3].metric("Dimension", manifest.dimension)
    store = state.feedback_store()
    rows = {
        "Model": manifest.model,
        "Vector search": manifest.vector_index,
        "Built at": display.when(manifest.built_at),
        "Generation": manifest.generation,
        "Index folder": str(state.index_dir().resolve()),
        "Feedback database": str(store.path) if store is not None else "switched off",
    }
    st.markdown("\n".join(f"- **{name}:** {display.escape(value)}"
                           for name, value in rows.items()))
    served = answerer.searcher.generation if answerer is not None else None
    if served and served != manifest.generation:
        st.info("A newer generation was just published; pages switch to it on their next "
                "run.")
    if answerer is not None:
        with st.expander("Documents in the index"):
            stored = answerer.documents.values()
            chunks = answerer.searcher.snapshot.chunk_counts
            st.dataframe(pd.DataFrame([{
                "title": d.document.title, "source": d.document.source,
                "format": d.document.format, "chunks": chunks.get(d.document.doc_id, 0),
                "last ingested": display.when(d.ingested_at),
            } for d in sorted(stored, key=lambda d: d.document.title.lower())]),
                hide_index=True)


def _report(report: IngestReport) -> None:
    if report.error:
        st.error(f"Nothing was published: {report.error}.", icon=":material/error:")
        return
    if report.published:
        st.success(f"Published generation {report.generation}: every page now serves it.",
                   icon=":material/check_circle:")
    else:
        st.success("Nothing changed since the last ingest: the served index stays as it is.",
                   icon=":material/check_circle:")
    columns = st.columns(6)
    for column, (name, value) in zip(columns, (
            ("Added", len(report.added)), ("Updated", len(report.updated)),
            ("Unchanged", len(report.unchanged)), ("Removed", len(report.removed)),
            ("Failed", len(report.failed)), ("Chunks", report.chunks)), strict=True):
        column.metric(name, value)
    if report.failed:
        st.warning("Some files could not be read; each is listed with its reason. A file "
                   "that used to load keeps its last good version.", icon=":material/warning:")
        st.dataframe(pd.DataFrame([vars(f) for f in report.failed]), hide_index=True)


def _reingest(answerer: Answerer | None, paths: list[Path]) -> None:
    settings = state.settings()
    index_dir = state.index_dir()
    bar = st.progress(0.0, text="Starting…")

    def progress(stage: str, done: int, total: int) -> None:
        bar.progress(done / total if total else 1.0,
                     text=f"{_STAGES.get(stage, stage)}: {done} of {total}")

    # The served model is already loaded: reuse it rather than load a second copy.
    embedder = answerer.searcher.embedder if answerer is not None and \
        answerer.searcher.snapshot.manifest.model == settings.model else None
    try:
        report = build_index(paths, index_dir, settings, embedder=embedder, progress=progress)
    except IndexLockedError as error:
        bar.empty()
        st.warning(f"Another ingest is running. {error}", icon=":material/hourglass:")
        return
    except SearchError as error:
        bar.empty()
        st.error(f"The ingest stopped: {error}", icon=":material/error:")
        return
    bar.empty()
    if report.published:
        # Warm the new generation now, so the next question does not wait for it.
        with contextlib.suppress(SearchError):
            state.prepare_coverage(state.served().answerer())
    # Shown after a rerun, under the status of what is served now.
    st.session_state["last_ingest"] = report
    st.rerun()


def main() -> None:
    st.title("Index")
    manifest = state.manifest()
    answerer = state.answerer() if manifest is not None else None
    if manifest is not None:
        _status(manifest, answerer)
    st.subheader("Re-ingest")
    paths = state.corpus_paths(answerer)
    st.caption("Reads " + ", ".join(f"**{display.escape(str(p))}**" for p in paths)
               + ". Only changed files are embedded again; the app keeps serving the current "
               "index until the new one is published.")
    if st.button("Re-ingest the corpus", type="primary", icon=":material/sync:"):
        _reingest(answerer, paths)
    last = st.session_state.get("last_ingest")
    if isinstance(last, IngestReport):
        _report(last)


main()
