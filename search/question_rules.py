"""The question rules the content team edits (``data/questions.toml``): the intents of the
treatment-page template with the headings that answer them, the answer types with the
values that state them, page boilerplate, and the words that only ask."""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from search.config import DATA_DIR
from search.errors import ConfigError

DEFAULT_QUESTION_RULES = DATA_DIR / "questions.toml"


@dataclass(frozen=True)
class Intent:
    name: str
    label: str
    asks: tuple[re.Pattern[str], ...]
    headings: tuple[re.Pattern[str], ...]
    #: Asked without naming a treatment, it is about the service as a whole.
    service: bool = False
    #: Asks about the treatment itself ("what is it?"): not the intent of a question
    #: that asks the same of something the page names ("what is a schema?").
    of_the_treatment: bool = False

    def heads(self, heading: str) -> bool:
        """Whether a section with this heading answers the intent."""
        return any(p.search(heading) for p in self.headings)


@dataclass(frozen=True)
class AnswerType:
    name: str
    label: str
    asks: tuple[re.Pattern[str], ...]
    values: tuple[re.Pattern[str], ...]
    intent: str | None = None

    def found_in(self, text: str) -> bool:
        """Whether ``text`` states a fact of this type."""
        return any(p.search(text) for p in self.values)


@dataclass(frozen=True)
class QuestionRules:
    intents: dict[str, Intent]
    answer_types: dict[str, AnswerType]
    boilerplate_headings: tuple[re.Pattern[str], ...]
    boilerplate_sentences: tuple[re.Pattern[str], ...]
    english_words: frozenset[str]
    #: Titles of the pages a caller in crisis is pointed to for a number to ring.
    crisis_titles: tuple[re.Pattern[str], ...] = ()
    #: Words that ask without saying about what ("how", "wat", "etc").
    fillers: frozenset[str] = frozenset()
    #: The words questions ask with, to which a misspelt word is read ("waitin").
    keywords: tuple[str, ...] = ()
    #: What a message in crisis that the pages do not otherwise answer is answered with,
    #: from the crisis pages ("phone": the crisis team's number).
    crisis_answer_type: str | None = None

    @functools.cached_property
    def asking_words(self) -> re.Pattern[str]:
        """Every intent's and answer type's ``asks`` in one pattern (one pass, not sixty)."""
        rules: list[Intent | AnswerType] = [*self.intents.values(), *self.answer_types.values()]
        return re.compile("|".join(f"(?:{p.pattern})" for rule in rules for p in rule.asks)
                          or r"(?!)", re.IGNORECASE)

    def crisis_page(self, title: str) -> bool:
        return any(p.search(title) for p in self.crisis_titles)

    def boilerplate(self, heading: str, sentence: str = "") -> bool:
        """Page furniture ("About this page", sample-content notices): never quoted."""
        return (any(p.search(heading.strip()) for p in self.boilerplate_headings)
                or (bool(sentence) and any(p.search(sentence)
                                          for p in self.boilerplate_sentences)))


def _patterns(items: Iterable[str], where: str) -> tuple[re.Pattern[str], ...]:
    try:
        return tuple(re.compile(p, re.IGNORECASE) for p in items)
    except re.error as error:
        raise ConfigError(f"{where}: {error}") from error


@functools.cache
def load_question_rules(path: Path = DEFAULT_QUESTION_RULES) -> QuestionRules:
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        intents = {name: Intent(name, str(entry.get("label", name)),
                                _patterns(entry.get("asks", ()), f"{path}: intent {name}"),
                                _patterns(entry.get("headings", ()), f"{path}: intent {name}"),
                                bool(entry.get("service", False)),
                                bool(entry.get("of_the_treatment", False)))
                   for name, entry in raw.get("intents", {}).items()}
        types = {name: AnswerType(name, str(entry.get("label", name)),
                                  _patterns(entry.get("asks", ()), f"{path}: type {name}"),
                                  _patterns(entry.get("values", ()), f"{path}: type {name}"),
                                  entry.get("intent"))
                 for name, entry in raw.get("answer_types", {}).items()}
        furniture = raw.get("boilerplate", {})
        rules = QuestionRules(
            intents, types, _patterns(furniture.get("headings", ()), f"{path}: boilerplate"),
            _patterns(furniture.get("sentences", ()), f"{path}: boilerplate"),
            frozenset(w.lower() for w in raw.get("english", {}).get("words", ())),
            _patterns(raw.get("service", {}).get("crisis_titles", ()), f"{path}: service"),
            frozenset(w.lower() for w in raw.get("asking", {}).get("fillers", ())),
            tuple(str(w).lower() for w in raw.get("asking", {}).get("keywords", ())),
            raw.get("service", {}).get("crisis_answer_type"))
    except (OSError, AttributeError, TypeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"The question rules file '{path}' cannot be used: {error}. Fix it "
                          "(it is TOML; see the comments at its top)") from error
    if rules.crisis_answer_type is not None and (
            rules.crisis_answer_type not in types or types[rules.crisis_answer_type].intent
            not in intents):
        raise ConfigError(f"{path}: [service] crisis_answer_type must be an answer type with "
                          f"an intent, got {rules.crisis_answer_type!r}")
    for answer_type in types.values():
        if answer_type.intent is not None and answer_type.intent not in intents:
            raise ConfigError(f"{path}: answer type {answer_type.name!r} names an unknown "
                              f"intent {answer_type.intent!r}")
    return rules
