"""The lexical ranker: BM25 over each chunk's breadcrumb and text, English-stemmed.

Tokenising (bm25s, PyStemmer) is the slow part, so it happens once, when a segment is
written: each segment keeps its chunks' stemmed term counts in its ``terms/`` folder
(vocabulary JSON, CSR arrays as .npy, no pickle). Opening a generation concatenates the
live rows of its segments and builds the BM25 postings in numpy, in a fraction of a
second at 35k chunks, so publishing never re-tokenises and deleting a row needs no rewrite.

Scores equal bm25s's defaults to float32 (method "lucene", k1 1.5, b 0.75; same rounding):
a document's length is its token count after stopwords, repeats included; a word repeated
in the query adds its score again; query words the corpus lacks are skipped.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

FOLDER = "terms"
VOCABULARY = "vocabulary.json"
ARRAYS = {"offsets": "int64", "term_ids": "int32", "counts": "int32"}
K1 = 1.5
B = 0.75


@functools.cache
def _stemmer() -> Any:
    import bm25s  # noqa: F401 - imported with the stemmer, so that both load at once
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """The terms BM25 compares, per text: bm25s's tokens without English stopwords,
    Snowball-stemmed (the same for the pages, the questions and the tests' reference)."""
    import bm25s

    tokens: list[list[str]] = bm25s.tokenize(
        list(texts), stopwords="en", stemmer=_stemmer(), return_ids=False, show_progress=False
    )
    return tokens


def content_terms(text: str) -> list[str]:
    """The terms BM25 indexes ``text`` by: stemmed words, English stopwords left out."""
    return tokenize([text])[0]


def meaning_terms(text: str) -> list[str]:
    """``content_terms`` without the function words that BM25's short stopword list keeps
    ("you", "my", "about", "what"): the words that say what a text is about, for
    comparing a question with a passage (the answerability evidence)."""
    return [t for t in content_terms(text) if t not in _function_words()]


@functools.cache
def _function_words() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    return frozenset(_stemmer().stemWords(list(STOPWORDS_EN_PLUS)))


@dataclass(frozen=True, eq=False)  # eq=False: comparing or hashing arrays is meaningless
class TermCounts:
    """Stemmed term counts of a run of chunks, one row per chunk (CSR).

    A row lists each of its terms once. The vocabulary may hold terms no row uses.
    """

    vocabulary: tuple[str, ...]  # local term id -> term
    offsets: np.ndarray  # int64, shape (rows + 1,), offsets[0] == 0
    term_ids: np.ndarray  # int32, local ids into vocabulary, row by row
    counts: np.ndarray  # int32, how often that term occurs in that row (> 0)

    @property
    def rows(self) -> int:
        return len(self.offsets) - 1

    def take(self, rows: Sequence[int] | np.ndarray) -> TermCounts:
        """The given rows, in the given order (vocabulary kept whole)."""
        import numpy as np

        index = np.asarray(rows)
        if index.size == 0:
            index = index.astype(np.int64)
        if index.dtype.kind not in "iu":
            raise TypeError(f"rows must be integer positions, not {index.dtype}")
        starts = self.offsets[:-1][index]
        lengths = self.offsets[1:][index] - starts
        offsets = np.zeros(len(index) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        gather = np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1])
        return TermCounts(self.vocabulary, offsets, self.term_ids[gather], self.counts[gather])

    @staticmethod
    def concatenate(parts: Sequence[TermCounts]) -> TermCounts:
        """Rows of all parts in order, over a merged vocabulary (works for an empty list)."""
        import numpy as np

        merged: dict[str, int] = {}
        term_ids, counts, offsets = [], [], [np.zeros(1, dtype=np.int64)]
        shift = 0
        for part in parts:
            local = np.fromiter((merged.setdefault(t, len(merged)) for t in part.vocabulary),
                                dtype=np.int32, count=len(part.vocabulary))
            term_ids.append(local[part.term_ids])
            counts.append(part.counts)
            offsets.append(part.offsets[1:] + shift)
            shift += int(part.offsets[-1])
        return TermCounts(
            tuple(merged), np.concatenate(offsets),
            np.concatenate(term_ids) if term_ids else np.zeros(0, dtype=np.int32),
            np.concatenate(counts) if counts else np.zeros(0, dtype=np.int32),
        )


def count_terms(texts: Sequence[str]) -> TermCounts:
    """Tokenise and count; the vocabulary is sorted, so equal texts give equal files."""
    import numpy as np

    tokens = tokenize(texts) if texts else []
    vocabulary = sorted({t for doc in tokens for t in doc})
    position = {t: i for i, t in enumerate(vocabulary)}
    lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
    ids = np.fromiter((position[t] for doc in tokens for t in doc), dtype=np.int64,
                      count=int(lengths.sum()))
    rows = np.repeat(np.arange(len(tokens), dtype=np.int64), lengths)
    # One key per (row, term), in row-then-term order; np.unique counts the repeats.
    keys, counts = np.unique(rows * max(len(vocabulary), 1) + ids, return_counts=True)
    offsets = np.zeros(len(tokens) + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys // max(len(vocabulary), 1), minlength=len(tokens)),
              out=offsets[1:])
    term_ids = (keys % max(len(vocabulary), 1)).astype(np.int32)
    return TermCounts(tuple(vocabulary), offsets, term_ids, counts.astype(np.int32))


def write_terms(folder: Path, terms: TermCounts) -> None:
    """Plain files: the vocabulary as JSON, each array as .npy (readable without pickle)."""
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    (folder / VOCABULARY).write_text(json.dumps(list(terms.vocabulary)), encoding="utf-8")
    for name, dtype in ARRAYS.items():
        np.save(folder / f"{name}.npy", np.asarray(getattr(terms, name), dtype=dtype),
                allow_pickle=False)


def read_terms(folder: Path) -> TermCounts:
    """Read what write_terms wrote; ValueError or OSError if a file is missing or damaged."""
    import numpy as np

    vocabulary = json.loads((folder / VOCABULARY).read_text(encoding="utf-8"))
    if not isinstance(vocabulary, list) or not all(isinstance(t, str) for t in vocabulary):
        raise ValueError(f"{folder / VOCABULARY} is not a list of terms")
    if len(set(vocabulary)) != len(vocabulary):
        raise ValueError(f"{folder / VOCABULARY} repeats a term")
    arrays = {}
    for name, dtype in ARRAYS.items():
        path = folder / f"{name}.npy"
        with path.open("rb") as file:  # .npy only: np.load would also open a zip or pickle
            array = np.lib.format.read_array(file, allow_pickle=False)
        if array.dtype != dtype or array.ndim != 1:
            raise ValueError(f"{path} is not a one-dimensional {dtype} array")
        arrays[name] = array
    offsets, term_ids, counts = arrays["offsets"], arrays["term_ids"], arrays["counts"]
    if (len(offsets) == 0 or offsets[0] != 0 or np.any(np.diff(offsets) < 0)
            or offsets[-1] != len(term_ids) or len(counts) != len(term_ids)):
        raise ValueError(f"the arrays in {folder} do not describe the same rows")
    if len(term_ids) and (term_ids.min() < 0 or term_ids.max() >= len(vocabulary)
                          or counts.min() <= 0):
        raise ValueError(f"the arrays in {folder} hold a term id or count out of range")
    return TermCounts(tuple(vocabulary), offsets, term_ids, counts)


class LexicalIndex:
    """BM25 postings over every row of ``terms``: row i is chunk row i."""

    def __init__(self, terms: TermCounts) -> None:
        import numpy as np

        _stemmer()  # the tokeniser's imports take 0.2 s: here, not in the first query
        self.size = terms.rows
        self._ids = {t: i for i, t in enumerate(terms.vocabulary)}
        vocabulary, postings = len(terms.vocabulary), len(terms.term_ids)
        rows = np.repeat(np.arange(self.size, dtype=np.int64), np.diff(terms.offsets))
        frequencies = np.bincount(terms.term_ids, minlength=vocabulary)
        self._starts = np.zeros(vocabulary + 1, dtype=np.int64)
        np.cumsum(frequencies, out=self._starts[1:])
        if postings == 0:
            self._rows, self._weights = rows, np.zeros(0, dtype=np.float32)
            return
        # Each step mirrors bm25s's arithmetic so that its float32 rounding is ours too.
        # Its length is the token count after stopwords, its average an int64 mean.
        totals = np.concatenate(([0], np.cumsum(terms.counts, dtype=np.int64)))
        lengths = totals[terms.offsets[1:]] - totals[terms.offsets[:-1]]
        norms = K1 * ((1 - B) + B * lengths / lengths.mean())
        # idf by math.log as bm25s does, once per distinct document frequency.
        distinct, which = np.unique(frequencies, return_inverse=True)
        inner = 1 + (self.size - distinct + 0.5) / (distinct + 0.5)
        idf = np.array([math.log(x) for x in inner.tolist()], dtype=np.float32)[which]
        tf = terms.counts.astype(np.float64)
        weights = (idf[terms.term_ids] * (tf / (norms[rows] + tf))).astype(np.float32)
        # Postings grouped by term, rows ascending within a term: sorting packed keys is
        # several times faster than an argsort.
        keys = (terms.term_ids.astype(np.int64) << 32) | np.arange(postings, dtype=np.int64)
        keys.sort()
        order = keys & 0xFFFFFFFF
        self._rows, self._weights = rows[order], weights[order]

    def knows(self, word: str) -> bool:
        """Whether ``word`` (stemmed as indexed) occurs in some row."""
        return _stemmer().stemWord(word.lower()) in self._ids

    def has_term(self, term: str) -> bool:
        """Whether ``term``, already stemmed (``content_terms``), occurs in some row."""
        return term in self._ids

    def search(
        self, query: str, depth: int, mask: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """(row, BM25 score) for the best ``depth`` rows that share a term with the query.

        Best first, only scores > 0; rows where ``mask`` is False never come back;
        ties go to the lower row.
        """
        import numpy as np

        if mask is not None and np.shape(mask) != (self.size,):
            raise ValueError(f"mask has shape {np.shape(mask)}, the index {self.size} rows")
        if depth <= 0 or self.size == 0:
            return []
        ids = [self._ids[t] for t in tokenize([query])[0] if t in self._ids]
        if not ids:
            return []
        scores = np.zeros(self.size, dtype=np.float32)
        for term in ids:  # in query order, repeats included: bm25s's float32 sum
            start, end = self._starts[term], self._starts[term + 1]
            scores[self._rows[start:end]] += self._weights[start:end]
        if mask is not None:
            scores[~np.asarray(mask, dtype=bool)] = 0
        rows = np.flatnonzero(scores > 0)
        if len(rows) > depth:
            # The depth-th best score; rows above it all stay, the lowest tied rows fill up.
            cut = np.partition(scores[rows], len(rows) - depth)[len(rows) - depth]
            above = rows[scores[rows] > cut]
            tied = rows[scores[rows] == cut][: depth - len(above)]
            rows = np.concatenate((above, tied))
        rows = rows[np.lexsort((rows, -scores[rows]))]
        return [(int(r), float(scores[r])) for r in rows]
