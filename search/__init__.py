"""Semantic search over treatment pages: ingest documents, then search them.

    from search import Settings, build_index, open_searcher

    report = build_index(["corpus"], "index")          # incremental; never raises per file
    searcher = open_searcher("index")                   # model + index, loaded once
    for hit in searcher.search("how long does CBT take", k=3):
        print(hit.rank, hit.score, hit.chunk.breadcrumb, hit.chunk.text)

Importing this package does not import torch; the model loads on first use.
"""

from search.config import ChunkSettings, Settings
from search.documents import Chunk, Document, Section
from search.errors import (
    ConfigError,
    IndexCorruptError,
    IndexError_,
    IndexLockedError,
    IndexMismatchError,
    IndexNotFoundError,
    LoadError,
    ModelNotAvailableError,
    QueryError,
    SearchError,
)
from search.index import IndexSnapshot, open_index, read_manifest
from search.ingestion import Failure, IngestReport, build_index
from search.loaders import load_document
from search.retrieval import Hit, Searcher, open_searcher

__all__ = [
    "Chunk",
    "ChunkSettings",
    "ConfigError",
    "Document",
    "Failure",
    "Hit",
    "IndexCorruptError",
    "IndexError_",
    "IndexLockedError",
    "IndexMismatchError",
    "IndexNotFoundError",
    "IndexSnapshot",
    "IngestReport",
    "LoadError",
    "ModelNotAvailableError",
    "QueryError",
    "SearchError",
    "Searcher",
    "Section",
    "Settings",
    "build_index",
    "load_document",
    "open_index",
    "open_searcher",
    "read_manifest",
]
