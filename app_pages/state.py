"""What the pages share: the index folder, settings, the cached answerer, the feedback store.

The model and index load once per process (``search.serving``), keyed by the index's
published generation: the cheap, torch-free ``read_manifest`` on each rerun notices a new
generation, which then opens beside the old one; sessions mid-answer keep the old one.
The command line (``streamlit run app.py -- --index DIR --corpus DIR``) and the
environment (SEARCH_INDEX, SEARCH_CORPUS, SEARCH_FEEDBACK_DB, SEARCH_FEEDBACK=off,
SEARCH_REQUIRE_LOGIN, SEARCH_ROLES) are
read here and nowhere else.
"""

from __future__ import annotations

import argparse
import functools
import os
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

import streamlit as st

from app_pages.roles import RoleRules, load_role_rules
from search import (
    Answerer,
    CoverageMatrix,
    Disagreement,
    FeedbackSettings,
    FeedbackStore,
    Manifest,
    SearchError,
    ServedIndex,
    Settings,
    coverage_matrix,
    read_manifest,
    served_index,
)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--index", default=os.environ.get("SEARCH_INDEX", "index"))
    parser.add_argument("--corpus", default=os.environ.get("SEARCH_CORPUS"))
    return parser.parse_known_args(sys.argv[1:])[0]


def sign_in_required() -> bool:
    """SEARCH_REQUIRE_LOGIN=1 (or on/true/yes) puts the app behind Streamlit's OIDC login."""
    return os.environ.get("SEARCH_REQUIRE_LOGIN", "off").lower() in ("1", "on", "true", "yes")


def sign_in_configured() -> bool:
    """Whether .streamlit/secrets.toml names an identity provider ([auth] section)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all: Streamlit raises its own error types
        return False


def role_rules() -> RoleRules:
    """Who is on the content team: the TOML file SEARCH_ROLES, else .streamlit/roles.toml."""
    return load_role_rules(Path(os.environ.get("SEARCH_ROLES", ".streamlit/roles.toml")))


def index_dir() -> Path:
    return Path(_arguments().index)


def settings() -> Settings:
    """The default Settings, with the feedback database and switch from the environment."""
    database = os.environ.get("SEARCH_FEEDBACK_DB")
    enabled = os.environ.get("SEARCH_FEEDBACK", "on").lower() not in ("off", "0", "false", "no")
    return Settings().with_changes(feedback=FeedbackSettings(
        enabled=enabled, database=Path(database) if database else None))


def manifest() -> Manifest | None:
    """The served generation's manifest, or None after saying what is wrong."""
    try:
        return read_manifest(index_dir())
    except SearchError as error:
        st.error(f"The index cannot be opened. {error}", icon=":material/error:")
        return None


def served() -> ServedIndex:
    """The process's served index (``search.serving``): outside Streamlit's caches, so a
    client's "clear cache" cannot unload the model and index for everyone."""
    return served_index(index_dir(), settings())


def answerer() -> Answerer | None:
    """The answerer over the served generation, or None after saying what is wrong."""
    published = manifest()
    if published is None:
        return None
    try:
        with st.spinner("Loading the model and index…"):
            current = served().answerer_for(published.generation)
        prepare_coverage(current)
        return current
    except SearchError as error:
        st.error(f"The index cannot be served. {error}", icon=":material/error:")
        return None


def coverage_of(answerer: Answerer, questions: tuple[tuple[str, str], ...],
                progress: Callable[[int, int], None] | None = None) -> CoverageMatrix:
    """Every page asked these standard questions, pages in title order."""
    documents = answerer.documents
    doc_ids = sorted(documents, key=lambda d: documents[d].document.title.lower())
    return coverage_matrix(answerer, doc_ids, questions, progress)


def prepare_coverage(answerer: Answerer) -> None:
    """Start the default coverage matrix of this generation in the background: the
    Coverage page then opens on it, not on a wait of a minute after each publish."""
    questions = settings().coverage.questions
    served().prepare(answerer, ("coverage", questions),
                     lambda current: coverage_of(current, questions))


def disagreements_in(answerer: Answerer) -> list[Disagreement]:
    """Facts (phone numbers, waiting times) that disagree across the served documents
    (worked out once by each generation's answerer)."""
    return answerer.facts.disagreements()


@functools.cache  # per process; not a Streamlit cache, which any client can clear
def _feedback_store(path: str) -> FeedbackStore:
    return FeedbackStore(path)


def feedback_store() -> FeedbackStore | None:
    """The feedback database, or None when switched off or unusable (said once)."""
    current = settings().feedback
    if not current.enabled:
        return None
    path = current.database_for(index_dir())
    try:
        return _feedback_store(str(path))
    except (OSError, sqlite3.Error) as error:
        st.warning(f"Feedback cannot be stored in {path}: {error}", icon=":material/warning:")
        return None


def corpus_paths(found_in: Answerer | None) -> list[Path]:
    """What a re-ingest reads: ``--corpus`` / SEARCH_CORPUS, else the folders the served
    documents came from, else ``corpus``."""
    explicit = _arguments().corpus
    if explicit:
        return [Path(explicit)]
    if found_in is not None:
        roots = sorted({Path(d.root) for d in found_in.documents.values()})
        if roots and all(root.is_dir() for root in roots):
            return roots
    return [Path("corpus")]
