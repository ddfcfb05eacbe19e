"""Approved answers: question → signed-off answer text, kept by the content team in TOML."""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from search.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np

    from search.retrieval import Filters, Searcher


@dataclass(frozen=True)
class ApprovedAnswer:
    questions: tuple[str, ...]
    answer: str
    #: ``file#section-slug`` of the page the wording comes from.
    source: str

    @property
    def doc_id(self) -> str:
        return self.source.partition("#")[0]

    @property
    def section_slug(self) -> str:
        return self.source.partition("#")[2]


@functools.cache
def load_approved_answers(path: Path) -> tuple[ApprovedAnswer, ...]:
    if not Path(path).exists():
        return ()
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        answers = tuple(
            ApprovedAnswer(tuple(item["questions"]), item["answer"].strip(), item["source"])
            for item in raw.get("answer", [])
        )
    except (OSError, KeyError, TypeError, AttributeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"The approved answers file '{path}' cannot be read ({error}); each "
                          "[[answer]] needs questions, answer and source") from error
    for item in answers:
        if not item.questions or not item.answer or "#" not in item.source:
            raise ConfigError(f"{path}: an approved answer needs questions, an answer and a "
                              f"source like 'page.md#section-slug' (got {item.source!r})")
    return answers


class ApprovedMatcher:
    """The approved answer whose question is closest to a question's vector, if at least
    ``threshold`` close; its questions are embedded once, when first needed."""

    def __init__(self, searcher: Searcher, answers: tuple[ApprovedAnswer, ...],
                 threshold: float) -> None:
        self.searcher = searcher
        self.answers = answers
        self.threshold = threshold
        self._owners = [item for item in answers for _ in item.questions]
        self._vectors: np.ndarray | None = None

    def match(self, vector: np.ndarray, filters: Filters | None) -> ApprovedAnswer | None:
        if not self.answers:
            return None
        import numpy as np

        if self._vectors is None:
            texts = [self.searcher.model_text(self.searcher.analyse(q))
                     for item in self.answers for q in item.questions]
            self._vectors = self.searcher.embedder.embed_documents(texts)
        scores = self._vectors @ vector
        best = int(np.argmax(scores))
        if scores[best] < self.threshold:
            return None
        approved = self._owners[best]
        if filters and filters.doc_ids and approved.doc_id not in filters.doc_ids:
            return None  # outside what the user chose to look at
        return approved
