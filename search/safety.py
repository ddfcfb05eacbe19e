"""The crisis check: run on every question before retrieval, so that a caller at risk is
noticed first. Patterns and example sentences come from a data file the clinical safety
lead edits; the guidance text comes from the settings."""

from __future__ import annotations

import functools
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from search.config import DATA_DIR
from search.errors import ConfigError
from search.messages import MAX_QUERY_CHARS

if TYPE_CHECKING:
    import numpy as np

    from search.embedding import Embedder

DEFAULT_SAFETY_FILE = DATA_DIR / "safety.toml"
#: A logistic-regression probe over the model's sentence vectors, trained on labelled
#: phrases by eval/train_crisis_probe.py; used only with the model it was trained for.
PROBE_FILE = DATA_DIR / "crisis_probe.json"


@dataclass(frozen=True)
class Safety:
    crisis: bool
    #: Which kinds of crisis language were found: suicide, self_harm, overdose, ...
    categories: tuple[str, ...] = ()
    guidance: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"crisis": self.crisis, "categories": list(self.categories),
                "guidance": self.guidance}


@dataclass
class CrisisCheck:
    patterns: tuple[tuple[str, re.Pattern[str]], ...]
    not_crisis: tuple[re.Pattern[str], ...]
    guidance: str
    #: Bare topic words, counted only in questions about a person (``person``).
    topics: tuple[tuple[str, re.Pattern[str]], ...] = ()
    person: re.Pattern[str] | None = None
    #: (kind, sentence) pairs compared by meaning; flagged at ``threshold`` or above.
    examples: tuple[tuple[str, str], ...] = ()
    threshold: float = 1.0
    probe: dict[str, Any] | None = None
    _vectors: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def check(self, question: str, embedder: Embedder | None = None,
              vector: np.ndarray | None = None, english: bool = True) -> Safety:
        """Patterns first (no model needed); then, given an embedder, by meaning.

        ``vector`` is the question's embedding when the caller has it already. A message
        not in English (``Query.english``) is read by the patterns of its language only:
        the model's vectors of other languages say nothing of their meaning, and a probe
        over them raised the banner on nine in ten everyday Polish, Urdu or Spanish
        questions ("Czy jest możliwość terapii w języku polskim?").
        """
        text = " ".join(question.replace("’", "'").replace("‘", "'").split())
        for pattern in self.not_crisis:
            text = pattern.sub(" ", text)
        patterns = list(self.patterns)
        if self.person is None or self.person.search(text):
            patterns.extend(self.topics)
        found = tuple(dict.fromkeys(kind for kind, p in patterns if p.search(text)))
        if not found and embedder is not None and english:
            found = self._similar(question, embedder, vector)
        return Safety(bool(found), found, self.guidance if found else "")

    def _similar(self, question: str, embedder: Embedder,
                 vector: np.ndarray | None) -> tuple[str, ...]:
        """By meaning: the trained probe, then closeness to an example sentence."""
        import numpy as np

        # A long message is read whole: each window of it within the model's reach.
        windows = _windows(question)
        if len(windows) > 1:
            queries = embedder.embed_documents(windows)
        else:
            queries = (vector if vector is not None else embedder.embed_query(question))[None, :]
        probe = self.probe
        if probe is not None and probe["model"] == embedder.name:
            logits = queries @ probe["weights"] + probe["bias"]
            if float((1 / (1 + np.exp(-logits))).max()) >= probe["threshold"]:
                return ("indirect",)
        if not self.examples:
            return ()
        vectors = self._vectors.get(embedder.name)
        if vectors is None:
            vectors = embedder.embed_documents([sentence for _, sentence in self.examples])
            self._vectors[embedder.name] = vectors
        scores = (queries @ vectors.T).max(axis=0)
        best = int(np.argmax(scores))
        return (self.examples[best][0],) if scores[best] >= self.threshold else ()


#: Characters per window of a long message: a few sentences, so that one sentence of risk
#: is not drowned by a page of appointment details around it.
WINDOW_CHARS = 300


def _windows(text: str) -> list[str]:
    """``text`` in windows of whole sentences, each at most about WINDOW_CHARS long; a
    question retrieval reads whole (MAX_QUERY_CHARS, search.messages) stays whole."""
    if len(text) <= MAX_QUERY_CHARS:
        return [text]
    windows, current = [], ""
    for sentence in re.split(r"(?<=[.?!])\s+", text):
        while len(sentence) > WINDOW_CHARS:  # one endless sentence: cut it
            windows.append(sentence[:WINDOW_CHARS])
            sentence = sentence[WINDOW_CHARS:]
        if current and len(current) + len(sentence) + 1 > WINDOW_CHARS:
            windows.append(current)
            current = ""
        current = f"{current} {sentence}".strip()
    return [*windows, current] if current else windows


@functools.cache
def load_crisis_check(guidance: str, path: Path = DEFAULT_SAFETY_FILE) -> CrisisCheck:
    import numpy as np

    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        patterns = _compiled(raw["crisis"]) + _compiled(raw.get("crisis_languages", {}))
        topics = _compiled(raw.get("topic", {}))
        person_words = raw.get("person", {}).get("words")
        person = re.compile(person_words, re.IGNORECASE) if person_words else None
        not_crisis = tuple(_pattern(p) for p in raw.get("not_crisis", {}).get("phrases", []))
        examples_table = dict(raw.get("examples", {}))
        threshold = float(examples_table.pop("threshold", 1.0))
        examples = tuple((kind, str(sentence)) for kind, sentences in examples_table.items()
                         for sentence in sentences)
    except (OSError, KeyError, TypeError, ValueError, tomllib.TOMLDecodeError,
            re.error) as error:
        raise ConfigError(f"The safety file '{path}' cannot be used: {error}. Fix it before "
                          "serving questions: the crisis check depends on it") from error
    probe = None
    if path == DEFAULT_SAFETY_FILE and PROBE_FILE.exists():
        raw_probe = json.loads(PROBE_FILE.read_text(encoding="utf-8"))
        probe = {**raw_probe, "weights": np.asarray(raw_probe["weights"], dtype="float32")}
    return CrisisCheck(patterns, not_crisis, guidance, topics=topics, person=person,
                       examples=examples, threshold=threshold, probe=probe)


def _compiled(table: dict[str, list[str]]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((kind, _pattern(p)) for kind, items in table.items() for p in items)


def _pattern(pattern: str) -> re.Pattern[str]:
    if "\b" in pattern:  # TOML reads "\b" in double quotes as a backspace, not \\b
        raise ValueError(f"pattern {pattern!r} holds a backspace: write \\b as '\\b' in "
                         "single quotes or \"\\\\b\" in double quotes")
    return re.compile(pattern, re.IGNORECASE)
