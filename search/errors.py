"""The exception tree: every error the package raises on purpose.

    SearchError                  base; its message always says what to do next
    ├── ConfigError              a setting breaks a rule (the message names the rule)
    ├── ModelNotAvailableError   the embedding model cannot be loaded offline
    │   └── OnnxExportError      it cannot run on ONNX Runtime with torch's vectors
    ├── LoadError                one file cannot be read; ingest reports it and skips it
    ├── IndexFolderError         base of the index errors below
    │   ├── IndexNotFoundError   no published index in the folder
    │   ├── IndexMismatchError   built with another model, dimension or schema
    │   ├── IndexCorruptError    files missing or inconsistent
    │   ├── IndexLockedError     another ingest holds the folder's lock
    │   └── IndexWriteError      the next generation could not be written (disk full)
    └── QueryError               a query that cannot be run (empty, malformed batch line)

Only the edges (ingest.py, ``python -m search``, app.py) turn these into messages and
exit codes.
"""

from __future__ import annotations


class SearchError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigError(SearchError):
    """A setting breaks one of the rules checked when Settings is built."""


class ModelNotAvailableError(SearchError):
    """The requested embedding model cannot be loaded on this machine."""


class OnnxExportError(ModelNotAvailableError):
    """The model cannot be run by ONNX Runtime with the same vectors as torch."""


class LoadError(SearchError):
    """One file cannot be turned into a Document.

    ``reason`` is a short stable code (``empty``, ``binary``, ``pdf-encrypted``...) that
    reports and tests can rely on; the message explains it to a person.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class IndexFolderError(SearchError):
    """Base of the errors raised when opening or writing an index folder."""


class IndexNotFoundError(IndexFolderError):
    """The folder holds no published index."""


class IndexMismatchError(IndexFolderError):
    """The index was built with another model, dimension or schema version."""


class IndexCorruptError(IndexFolderError):
    """The published generation is missing files or they disagree with each other."""


class IndexLockedError(IndexFolderError):
    """Another ingest is writing to the same index folder."""


class IndexWriteError(IndexFolderError):
    """The next generation could not be written (a full disk, a read-only folder); the
    served index is left as it was."""


class QueryError(SearchError):
    """A query that cannot be run as given."""
