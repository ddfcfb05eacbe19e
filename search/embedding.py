"""The model seam: ``load_embedder``, which picks the ONNX path (``search/onnx_embedding.py``)
or sentence-transformers (``search/torch_embedding.py``) for a model, and ``set_threads``.
What a model is (the protocols, ``resolve_model``) lives in ``search/models.py``.

torch and sentence-transformers are imported inside the functions that need them, so
that importing this package, ``ingest.py --help`` and the fast tests stay torch-free.
Vectors leave this module L2-normalised: cosine similarity is then an inner product.
"""

from __future__ import annotations

import functools
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from search.config import DEFAULT_BATCH_SIZE

if TYPE_CHECKING:
    pass

from search.models import (
    Embedder,
    ModelSource,
    SpanEmbedder,
    WordPieceCounter,
    default_model_cache,
    load_token_counter,
    pool_spans,
    resolve_model,
)
from search.torch_embedding import SentenceTransformerEmbedder

__all__ = ["Embedder", "ModelSource", "SentenceTransformerEmbedder", "SpanEmbedder",
           "WordPieceCounter", "default_model_cache", "load_embedder", "load_token_counter",
           "pool_spans", "resolve_model", "set_threads"]


def set_threads(count: int) -> None:
    """Pin FAISS's pool, and torch's when torch is in use: left alone they fight (≈30×
    slower queries here). ONNX Runtime sessions take their thread count when built."""
    import faiss

    faiss.omp_set_num_threads(count)
    if "torch" in sys.modules:  # never import torch just to configure it
        sys.modules["torch"].set_num_threads(count)


@functools.cache
def load_embedder(model: str, batch_size: int = DEFAULT_BATCH_SIZE, *, backend: str = "auto",
                  threads: int = 1, cache: Path | None = None,
                  batch_work: bool = False) -> Embedder:
    """The embedder for ``model``, built once per process.

    ``backend``: "torch" runs sentence-transformers; "onnx" runs the ONNX export and
    fails if there is none; "auto" runs the export, making it first (with torch, once per
    machine) if needed, and falls back to torch for a model that cannot be exported.
    ``batch_work``: for an ingest, whose batches keep every thread busy (ONNX Runtime's
    threads then spin between operators instead of sleeping).
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
    return OnnxEmbedder(source, export, threads=threads, batch_size=batch_size,
                        spinning=batch_work)
