"""The lexical ranker: BM25 (bm25s) over each chunk's breadcrumb and text, English-stemmed.

Stored in the generation's ``lexical/`` folder as bm25s's plain arrays and JSON (no
pickle), built from scratch at every publish: it takes well under a second per 10k chunks.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

FOLDER = "lexical"


@functools.cache
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def _tokens(texts: Sequence[str]) -> list[list[str]]:
    import bm25s

    tokens: list[list[str]] = bm25s.tokenize(
        list(texts), stopwords="en", stemmer=_stemmer(), return_ids=False, show_progress=False
    )
    return tokens


def build(folder: Path, texts: Sequence[str]) -> None:
    import bm25s

    retriever = bm25s.BM25()
    # An empty corpus still gets an index, so that opening it never special-cases.
    retriever.index(_tokens(texts) if texts else [[""]], show_progress=False)
    retriever.save(str(folder), show_progress=False)


class LexicalIndex:
    def __init__(self, folder: Path, size: int) -> None:
        import bm25s

        self._retriever = bm25s.BM25.load(str(folder), show_progress=False)
        self.size = size

    def search(
        self, query: str, depth: int, mask: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """(row, BM25 score) for the best ``depth`` chunks that share a term with the query."""
        tokens = _tokens([query])
        if not tokens[0] or self.size == 0:
            return []
        weights = None if mask is None else mask.astype("float32")
        rows, scores = self._retriever.retrieve(
            tokens, k=min(depth, self.size), show_progress=False, weight_mask=weights
        )
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if s > 0]
