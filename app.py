"""Streamlit search page over an index built by ingest.py.

Run: ``streamlit run app.py -- --index DIR`` (default ``index``; or set SEARCH_INDEX).
Document text is never rendered as HTML or Markdown: it is shown with st.text/st.code.
"""

from __future__ import annotations

import argparse
import os
import sys

import streamlit as st

from search import SearchError, read_manifest
from search.retrieval import Searcher, open_searcher


def _index_dir() -> str:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--index", default=os.environ.get("SEARCH_INDEX", "index"))
    return parser.parse_known_args(sys.argv[1:])[0].index


@st.cache_resource(show_spinner="Loading the model and index…")
def _searcher(index_dir: str, generation: str) -> Searcher:
    """One searcher per published generation; a new generation opens a new one."""
    return open_searcher(index_dir)


def main() -> None:
    st.set_page_config(page_title="Treatment search", page_icon="🔎", layout="wide")
    st.title("Treatment search")
    st.caption("Sample content for demonstration — not clinical advice.")
    index_dir = _index_dir()
    try:
        generation = read_manifest(index_dir).generation
        searcher = _searcher(index_dir, generation)
    except SearchError as error:
        st.error(str(error))
        return
    query = st.text_input("Search the treatment pages", value=st.query_params.get("q", ""),
                          placeholder="e.g. how long does CBT take?")
    if not query.strip():
        return
    try:
        hits = searcher.search(query, k=5)
    except SearchError as error:
        st.warning(str(error))
        return
    for hit in hits:
        chunk = hit.chunk
        page = f" · page {chunk.page}" if chunk.page else ""
        with st.container(border=True):
            st.text(f"{hit.rank}. {chunk.breadcrumb}")
            st.caption(f"{chunk.source}{page} · score {hit.score:.2f}".replace("*", "\\*"))
            st.text(chunk.text)


main()
