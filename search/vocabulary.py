"""The domain vocabulary: acronyms, spellings and lay terms that carry a caller's words to
the content's words. Read from a TOML file the content team edits.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from search.config import DATA_DIR
from search.errors import ConfigError

DEFAULT_VOCABULARY = DATA_DIR / "vocabulary.toml"


@dataclass(frozen=True)
class Expansion:
    """A query rewritten for search: spellings normalised and related terms to add."""

    text: str  # the query with spellings normalised
    added: tuple[str, ...]  # extra terms, in the order they were found
    #: The phrases of ``text`` a rule read, each with the terms it stands for
    #: ("electroshock", ("electroconvulsive therapy",)).
    phrases: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def joined(self) -> str:
        return f"{self.text} ({'; '.join(self.added)})" if self.added else self.text


@dataclass(frozen=True)
class _Rule:
    pattern: re.Pattern[str]
    terms: tuple[str, ...]


@dataclass(frozen=True)
class Vocabulary:
    spellings: tuple[tuple[re.Pattern[str], str], ...]
    rules: tuple[_Rule, ...]
    #: (acronym, what it stands for): "CBT", "cognitive behavioural therapy".
    acronyms: tuple[tuple[str, str], ...] = ()

    def knows(self, word: str) -> bool:
        """Whether a rule reads ``word`` as one of our terms (an acronym, a spelling, a
        caller's phrase)."""
        return any(r.pattern.fullmatch(word) for r in self.rules) or any(
            pattern.fullmatch(word) for pattern, _ in self.spellings)

    def expand(self, query: str) -> Expansion:
        text = query
        for pattern, replacement in self.spellings:
            text = pattern.sub(_replacer(replacement), text)
        added: list[str] = []
        phrases: list[tuple[str, tuple[str, ...]]] = []
        lowered = text.lower()
        for rule in self.rules:
            if rule.pattern.search(text):
                added.extend(t for t in rule.terms if t.lower() not in lowered and t not in added)
                phrases.extend((match.group(), rule.terms)
                               for match in rule.pattern.finditer(text))
        return Expansion(text, tuple(added), tuple(phrases))


def _replacer(replacement: str) -> Callable[[re.Match[str]], str]:
    """Keep a capital first letter: "Behavior" → "Behaviour"."""

    def replace(match: re.Match[str]) -> str:
        return replacement.capitalize() if match.group()[:1].isupper() else replacement

    return replace


def _word(phrase: str, case_sensitive: bool = False) -> re.Pattern[str]:
    flags = 0 if case_sensitive else re.IGNORECASE
    return re.compile(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", flags)


@functools.cache
def load_vocabulary(path: Path = DEFAULT_VOCABULARY) -> Vocabulary:
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"The vocabulary file '{path}' cannot be read: {error}. Fix the "
                          "file (it is TOML) or point the settings at another one") from error
    spellings = tuple((_word(variant), str(ours))
                      for variant, ours in raw.get("spellings", {}).items())
    rules: list[_Rule] = []
    acronyms: list[tuple[str, str]] = []
    for acronym, entry in raw.get("acronyms", {}).items():
        expansion = entry if isinstance(entry, str) else entry.get("expansion", "")
        case_sensitive = isinstance(entry, dict) and bool(entry.get("case_sensitive"))
        if not expansion:
            raise ConfigError(f"{path}: acronym '{acronym}' has no expansion")
        rules.append(_Rule(_word(acronym, case_sensitive), (expansion,)))
        acronyms.append((acronym, expansion))
        rules.append(_Rule(_word(expansion), (acronym,)))
    for phrase, terms in raw.get("lay_terms", {}).items():
        if isinstance(terms, str):
            terms = [terms]
        rules.append(_Rule(_word(phrase), tuple(str(t) for t in terms)))
    return Vocabulary(spellings, tuple(rules), tuple(acronyms))
