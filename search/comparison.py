"""Two or three treatments compared: "difference between CBT and CAT", "cbt vs dbt how
long". Each named page's section for what is asked (what it is, when nothing more is
asked) is quoted whole, side by side, each cited; no sentence is composed, so nothing is
said that the pages do not say.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from search.query import Query
from search.question_rules import QuestionRules

if TYPE_CHECKING:
    from search.index import StoredDocument

#: Words that ask for a comparison when two or more treatments are named.
_COMPARING = re.compile(r"\b(differen\w*|differ|vs\.?|versus|compar\w*|better|or|which)\b",
                        re.IGNORECASE)
#: Treatments compared side by side, at most.
MAX_COMPARED = 3


@dataclass(frozen=True)
class Side:
    doc_id: str
    title: str
    #: The section quoted: its heading and span in the page's text; empty when the page
    #: has no section for what is asked (``missing`` says so).
    heading: str = ""
    start: int = 0
    end: int = 0
    #: The section's text, ``document.text[start:end]``, quoted whole.
    text: str = ""
    missing: str = ""


def comparison(query: Query, documents: Mapping[str, StoredDocument],
               rules: QuestionRules) -> tuple[Side, ...]:
    """The sides of a comparison the question asks for, or () when it asks none."""
    named = sorted(query.treatments)
    if not 2 <= len(named) <= MAX_COMPARED or not _COMPARING.search(query.text):
        return ()
    intent = rules.intents.get(query.intent or "") or rules.intents.get("what_is")
    sides = []
    for doc_id in named:
        document = documents[doc_id].document
        section = next((s for s in document.sections if intent and intent.heads(s.heading)
                        and not rules.boilerplate(s.heading)), None)
        if section is None:
            label = intent.label if intent else "that"
            sides.append(Side(doc_id, document.title,
                              missing=f"Our {document.title} page does not say {label}."))
        else:
            sides.append(Side(doc_id, document.title, section.heading, section.start,
                              section.end, document.text[section.start:section.end]))
    return tuple(sides)
