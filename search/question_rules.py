"""The question rules the content team edits (``data/questions.toml``): the intents of the
treatment-page template with the headings that answer them, the answer types with the
values that state them, page boilerplate, and the words that only ask."""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from search.config import DATA_DIR
from search.errors import ConfigError

if TYPE_CHECKING:
    from typing import Protocol

    class Query(Protocol):  # search.query.Query, as read here (no import cycle)
        @property
        def answer_type(self) -> str | None: ...
        @property
        def counted(self) -> tuple[str, ...]: ...

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


#: A plural noun, the thing a "how many" counts ("beds", "hrs"; not "crisis", "class").
_PLURAL = re.compile(r"[^siu]s$")

#: Words that end what is counted: "how many ppl per grp" counts people.
_NOT_COUNTED = frozenset({"per", "each", "every", "in", "on", "at", "for", "a", "an", "the"})

#: In an answer type's values, what the question counts ("how many beds" → bed).
COUNTED = "{counted}"


@dataclass(frozen=True)
class AnswerType:
    name: str
    label: str
    asks: tuple[re.Pattern[str], ...]
    values: tuple[re.Pattern[str], ...]
    intent: str | None = None
    #: The values as written. Where they hold ``{counted}``, a count of something ("how
    #: many crisis house beds?") is stated only by a number of that thing ("6 beds"),
    #: not by any number on the page.
    sources: tuple[str, ...] = ()
    #: The label as written, with ``{counted}`` ("the number of {counted}").
    label_template: str = ""
    #: Words counted as one another ("ppl", "people", "members").
    alike: tuple[tuple[str, ...], ...] = ()

    def found_in(self, text: str) -> bool:
        """Whether ``text`` states a fact of this type."""
        return any(p.search(text) for p in self.values)

    def counting(self, words: tuple[str, ...], stems: tuple[str, ...]) -> AnswerType:
        """This type for a question that counts ``words`` (their ``stems``): its values
        then need a number of one of them, and its label names them."""
        if not stems or not any(COUNTED in v for v in self.sources):
            return self
        return replace(self, label=self.label_template.replace(COUNTED, " ".join(words)),
                       values=_counting(self.sources, stems, self.name))


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
        return re.compile("|".join(f"(?:{_unnamed(p.pattern)})" for rule in rules
                                   for p in rule.asks) or r"(?!)", re.IGNORECASE)

    def counted(self, found: re.Match[str]) -> tuple[str, ...]:
        """The words an answer type's ``(?P<counted>...)`` caught, to the thing counted,
        which is last: "how many crisis house beds can..." → crisis, house, beds."""
        from search.lexical import meaning_terms

        words: list[str] = []
        for word in re.findall(r"[\w-]+", found.groupdict().get("counted") or ""):
            if word in self.fillers or word in _NOT_COUNTED or not meaning_terms(word):
                break
            words.append(word)
            if _PLURAL.search(word):  # the thing counted: "crisis house beds", "hrs long"
                break
        return tuple(words)

    def answer_type_of(self, query: Query) -> AnswerType | None:
        """The answer type the query asks for, read for what it counts, if anything."""
        from search.lexical import meaning_terms

        kind = self.answer_types.get(query.answer_type or "")
        if kind is None or not query.counted:
            return kind
        stems = set(meaning_terms(query.counted[-1]))  # "crisis house beds": beds
        for alike in _stemmed(kind.alike):
            if alike & stems:
                stems |= alike
        return kind.counting(query.counted, tuple(sorted(stems)))

    def crisis_page(self, title: str) -> bool:
        return any(p.search(title) for p in self.crisis_titles)

    def boilerplate(self, heading: str, sentence: str = "") -> bool:
        """Page furniture ("About this page", sample-content notices): never quoted."""
        return (any(p.search(heading.strip()) for p in self.boilerplate_headings)
                or (bool(sentence) and any(p.search(sentence)
                                          for p in self.boilerplate_sentences)))


def _answer_type(name: str, entry: dict[str, Any], where: str) -> AnswerType:
    values = [str(v) for v in entry.get("values", ())]
    label = str(entry.get("label", name))
    # Read without a question's count, "{counted}" is any word ("the number of {counted}"
    # is "the number").
    return AnswerType(name, re.sub(r"\s+\w+\s+" + re.escape(COUNTED), "", label).replace(
                          COUNTED, "it"), _patterns(entry.get("asks", ()), where),
                      _patterns((v.replace(COUNTED, r"\w+") for v in values), where),
                      entry.get("intent"), tuple(values), label,
                      tuple(tuple(str(w) for w in words) for words in entry.get("alike", ())))


@functools.lru_cache(maxsize=256)
def _counting(sources: tuple[str, ...], stems: tuple[str, ...],
              name: str) -> tuple[re.Pattern[str], ...]:
    """The values ``sources`` with ``{counted}`` read as any of ``stems``, compiled once."""
    counted = "(" + "|".join(re.escape(s) for s in stems) + r")\w*"
    return _patterns((v.replace(COUNTED, counted) for v in sources), f"answer type {name}")


@functools.lru_cache(maxsize=16)
def _stemmed(groups: tuple[tuple[str, ...], ...]) -> tuple[frozenset[str], ...]:
    """Each group of words counted as one another, stemmed once (not on every ask)."""
    from search.lexical import meaning_terms

    return tuple(frozenset(meaning_terms(" ".join(words))) for words in groups)


def _unnamed(pattern: str) -> str:
    """``pattern`` with its named groups unnamed, to be joined with others."""
    return re.sub(r"\(\?P<\w+>", "(?:", pattern)


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
        types = {name: _answer_type(name, entry, f"{path}: type {name}")
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
