"""Whether the passages found answer the question: a calibrated decision, not a threshold.

Two rules come first, because no similarity can say whether a page states a price:
- the question's intent (how long, side effects...) has no section on the page → "Our X
  page does not say how long it takes";
- the question asks for a kind of fact (a phone number, a price...) that no sentence of
  the page carries → "Our X page does not give a price".

Otherwise a logistic regression weighs the evidence (``Evidence``); its weights are a
readable data file (``data/answerability.json``), fitted on the development questions by
``python -m search calibrate`` (README, "Answers and refusal").
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from search.config import DATA_DIR
from search.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from search.documents import Document, Section
    from search.query import Query


class Quoted(Protocol):
    """A sentence chosen to quote, as the evidence reads it (``quoting.Candidate``)."""

    @property
    def doc_id(self) -> str: ...
    @property
    def section(self) -> Section: ...
    @property
    def sentence(self) -> float: ...
    @property
    def passage(self) -> float: ...
    @property
    def carries_type(self) -> bool: ...
    @property
    def in_intent(self) -> bool: ...

DEFAULT_MODEL_FILE = DATA_DIR / "answerability.json"


@dataclass(frozen=True)
class Evidence:
    """What the decision weighs, each on a scale where higher means "answers it"."""

    #: Cosine similarity of the best sentence, and of its passage, to the question.
    sentence: float
    passage: float
    #: 1 the best sentence's section heading matches the question's intent, 0 it does
    #: not, 0.5 the question has no intent on the page template.
    intent: float
    #: 1 the quoted sentences carry the answer type asked for, 0 not, 0.5 none asked.
    answer_type: float
    #: Share of the question's content words (stemmed) found in the quoted section.
    words: float
    #: Share of what is asked (``Query.asked_terms``) found anywhere on the page: low when
    #: the question asks about something the page never mentions (naloxone, a BSL
    #: interpreter), however close the rest of it is.
    asked: float
    #: 1 the dense and lexical rankers put the same document first, else 0.
    agree: float
    #: 1 the question names the page's treatment, 0 names none, -1 names another.
    named: float
    #: 1 the message describes a situation before it asks ("my husband keeps checking
    #: the locks... what would help?"), else 0: its words are the caller's, not the
    #: page's, so its similarities run lower for the same answer.
    story: float = 0.0

    def vector(self) -> list[float]:
        return [getattr(self, name) for name in FEATURES]

    def as_dict(self) -> dict[str, float]:
        return {k: round(v, 4) for k, v in asdict(self).items()}


FEATURES = tuple(Evidence.__dataclass_fields__)


def weigh(query: Query, chosen: Sequence[Quoted], best: Quoted, document: Document,
          agree: bool, page_terms: frozenset[str]) -> Evidence:
    """The evidence that ``chosen`` (``best`` first among them) answers ``query``;
    ``page_terms``: the stemmed content words of the page and its title."""
    from search.lexical import meaning_terms  # stemmed, function words left out

    section = best.section
    words = set(meaning_terms(query.expansion.text))
    body = set(meaning_terms(" ".join((*section.breadcrumb,
                                       document.text[section.start:section.end]))))
    named = 0.0 if not query.treatments else (1.0 if best.doc_id in query.treatments else -1.0)
    # A word the vocabulary reads as another ("temper" as anger management) is found
    # where what it is read as is found.
    read_as: dict[str, set[str]] = {}
    for phrase, terms in query.expansion.phrases:
        words_of_phrase, reading = _reading(phrase, terms)
        for term in words_of_phrase:
            read_as.setdefault(term, set()).update(reading)

    def found(term: str, where: set[str] | frozenset[str]) -> bool:
        return term in where or bool(read_as.get(term, set()) & where)

    return Evidence(
        sentence=best.sentence, passage=best.passage,
        intent=0.5 if query.intent is None else float(best.in_intent),
        answer_type=0.5 if query.answer_type is None else float(
            any(c.carries_type for c in chosen)),
        words=sum(found(t, body) for t in words) / len(words) if words else 0.0,
        asked=(sum(found(t, page_terms) for t in query.asked_terms) / len(query.asked_terms))
        if query.asked_terms else 1.0,
        agree=float(agree),
        named=named,
        story=float(query.story))


@functools.lru_cache(maxsize=4096)
def _reading(phrase: str, terms: tuple[str, ...]) -> tuple[tuple[str, ...], frozenset[str]]:
    """The stemmed words of a phrase the vocabulary reads, and of what it reads it as."""
    from search.lexical import meaning_terms

    return tuple(meaning_terms(phrase)), frozenset(meaning_terms(" ".join(terms)))


@dataclass(frozen=True)
class AnswerabilityModel:
    weights: dict[str, float]
    bias: float
    #: Probability from which a question counts as answered.
    threshold: float = 0.5

    def probability(self, evidence: Evidence) -> float:
        logit = self.bias + sum(self.weights[name] * getattr(evidence, name)
                                for name in FEATURES)
        return 1 / (1 + math.exp(-max(-60.0, min(60.0, logit))))

    def as_dict(self) -> dict[str, Any]:
        return {"features": list(FEATURES), "weights": self.weights, "bias": self.bias,
                "threshold": self.threshold}


@functools.cache
def load_answerability_model(path: Path = DEFAULT_MODEL_FILE) -> AnswerabilityModel:
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        weights = {name: float(raw["weights"][name]) for name in FEATURES}
        model = AnswerabilityModel(weights, float(raw["bias"]), float(raw.get("threshold", 0.5)))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ConfigError(f"The answerability model '{path}' cannot be used: {error}. Refit "
                          "it: python -m search calibrate eval/questions.jsonl --index DIR "
                          "--write") from error
    if not 0 < model.threshold < 1:
        raise ConfigError(f"{path}: threshold must be between 0 and 1, got {model.threshold}")
    return model


def fit(rows: list[tuple[Evidence, bool]], threshold: float = 0.5,
        l2: float = 1.0) -> AnswerabilityModel:
    """The model for (evidence, answerable) rows. Both classes weigh the same in all
    (answerable questions outnumber the others about six to one in the question sets), so
    0.5 means "as likely answerable as not", whatever set it was fitted on."""
    import numpy as np

    from search.logistic import fit_logistic

    if len({answerable for _, answerable in rows}) < 2:
        raise ConfigError("fitting answerability needs answerable and unanswerable questions")
    weights, bias = fit_logistic(np.array([e.vector() for e, _ in rows]),
                                 np.array([a for _, a in rows]), l2)
    return AnswerabilityModel({name: round(float(v), 4) for name, v in zip(FEATURES, weights,
                                                                           strict=True)},
                              round(bias, 4), threshold)

