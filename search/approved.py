"""Approved answers: question → signed-off answer text, kept by the content team in TOML."""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path

from search.errors import ConfigError


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
