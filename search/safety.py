"""The crisis check: run on every question before retrieval, so a caller at risk is noticed
first. Patterns come from a data file; the guidance text from the settings."""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from search.errors import ConfigError

DEFAULT_SAFETY_FILE = Path(__file__).resolve().parent / "data" / "safety.toml"


@dataclass(frozen=True)
class Safety:
    crisis: bool
    #: Which kinds of crisis language were found: suicide, self_harm, overdose, ...
    categories: tuple[str, ...] = ()
    guidance: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"crisis": self.crisis, "categories": list(self.categories),
                "guidance": self.guidance}


@dataclass(frozen=True)
class CrisisCheck:
    patterns: tuple[tuple[str, re.Pattern[str]], ...]
    not_crisis: tuple[re.Pattern[str], ...]
    guidance: str

    def check(self, question: str) -> Safety:
        text = " ".join(question.replace("’", "'").replace("‘", "'").split())
        for pattern in self.not_crisis:
            text = pattern.sub(" ", text)
        found = tuple(dict.fromkeys(kind for kind, p in self.patterns if p.search(text)))
        return Safety(bool(found), found, self.guidance if found else "")


@functools.cache
def load_crisis_check(guidance: str, path: Path = DEFAULT_SAFETY_FILE) -> CrisisCheck:
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        patterns = tuple(
            (kind, re.compile(p, re.IGNORECASE))
            for kind, items in raw["crisis"].items() for p in items
        )
        not_crisis = tuple(re.compile(p, re.IGNORECASE)
                           for p in raw.get("not_crisis", {}).get("phrases", []))
    except (OSError, KeyError, tomllib.TOMLDecodeError, re.error) as error:
        raise ConfigError(f"The safety file '{path}' cannot be used: {error}. Fix it before "
                          "serving questions: the crisis check depends on it") from error
    return CrisisCheck(patterns, not_crisis, guidance)
