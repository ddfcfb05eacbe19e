"""Semantic search over treatment pages: ingest documents, then search them.

    from search import Settings, build_index, open_searcher

    report = build_index(["corpus"], "index")          # incremental; never raises per file
    searcher = open_searcher("index")                   # model + index, loaded once
    for hit in searcher.search("how long does CBT take", k=3):
        print(hit.rank, hit.score, hit.chunk.breadcrumb_text, hit.chunk.text)

Importing this package does not import torch; the model loads on first use.
"""

from search.answer import NOT_COVERED, Answer, Answerer, Citation
from search.comparison import Side, comparison
from search.config import ChunkSettings, CoverageSettings, FeedbackSettings, Settings
from search.contacts import numbers_in
from search.coverage import BAND_LABELS, Band, CoverageMatrix, band, coverage_matrix
from search.discovery import Failure
from search.documents import BREADCRUMB_SEPARATOR, Chunk, Document, Section
from search.errors import (
    ConfigError,
    IndexCorruptError,
    IndexFolderError,
    IndexLockedError,
    IndexMismatchError,
    IndexNotFoundError,
    LoadError,
    ModelNotAvailableError,
    QueryError,
    SearchError,
)
from search.facts import Disagreement, disagreement_rows, disagreements
from search.feedback import (
    GAP_STATUSES,
    USER_VERDICTS,
    FeedbackStore,
    Verdict,
    merge_similar,
)
from search.finder import Found, find_treatments
from search.index import IndexSnapshot, Manifest, StoredDocument, open_index, read_manifest
from search.ingestion import IngestReport, build_index
from search.loaders import load_document
from search.retrieval import Filters, Hit, Searcher, open_searcher
from search.serving import ServedIndex, served_index
from search.spreadsheet import frame_csv

__all__ = [
    "BAND_LABELS",
    "BREADCRUMB_SEPARATOR",
    "GAP_STATUSES",
    "NOT_COVERED",
    "USER_VERDICTS",
    "Answer",
    "Answerer",
    "Band",
    "Chunk",
    "ChunkSettings",
    "Citation",
    "ConfigError",
    "CoverageMatrix",
    "CoverageSettings",
    "Disagreement",
    "Document",
    "Failure",
    "FeedbackSettings",
    "FeedbackStore",
    "Filters",
    "Found",
    "Hit",
    "IndexCorruptError",
    "IndexFolderError",
    "IndexLockedError",
    "IndexMismatchError",
    "IndexNotFoundError",
    "IndexSnapshot",
    "IngestReport",
    "LoadError",
    "Manifest",
    "ModelNotAvailableError",
    "QueryError",
    "SearchError",
    "Searcher",
    "Section",
    "ServedIndex",
    "Settings",
    "Side",
    "StoredDocument",
    "Verdict",
    "band",
    "build_index",
    "comparison",
    "coverage_matrix",
    "disagreement_rows",
    "disagreements",
    "find_treatments",
    "frame_csv",
    "load_document",
    "merge_similar",
    "numbers_in",
    "open_index",
    "open_searcher",
    "read_manifest",
    "served_index",
]
