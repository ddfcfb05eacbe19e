"""The treatments' names: each page's title, the title without its brackets or its generic
tail ("Walking group therapy" → "walking group"), what its brackets hold (its acronym), and
the title with an acronym of the vocabulary in place of what it stands for. The question
analysis (``search.query``) looks a question's words up in them."""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_NAME_WORDS = 8
#: A title's one word before "therapy" names it alone when this long: "psychodynamic",
#: "addiction", "bereavement" do; "art", "music", "family" do not.
DISTINCT_NAME_CHARS = 8
_PARENTHESES = re.compile(r"\(([^)]*)\)")
_FOR_WHOM = re.compile(r"\s+(?:for|with|in)\s+", re.IGNORECASE)
_GENERIC_TAIL = re.compile(r"\s+(therapy|treatment|counselling|assessment)$", re.IGNORECASE)


def name_key(text: str) -> str:
    """Lower case, words only: "CBT-I" → "cbt i", "Art therapy (ACT)" → "art therapy act"."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def with_acronyms(names: dict[str, set[str]],
                  acronyms: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
    """``names`` and each with an acronym in place of what it stands for: "trauma focused
    cognitive behavioural therapy" is named "trauma focused cbt" too."""
    found = {name: set(ids) for name, ids in names.items()}
    for acronym, expansion in acronyms:
        long, short = f" {name_key(expansion)} ", name_key(acronym)
        for name, ids in names.items():
            if long in f" {name} " and f" {name} " != long:
                found.setdefault(f" {name} ".replace(long, f" {short} ").strip(),
                                 set()).update(ids)
    return found


def document_names(titles: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
    """Name → documents, from (doc_id, title): each title without its brackets, and what
    the brackets hold ("Cognitive behavioural therapy (CBT)" → both)."""
    titles = list(titles)
    names: dict[str, set[str]] = {}
    for doc_id, title in titles:
        plain = _PARENTHESES.sub(" ", title)
        # "Walking group therapy" is named by "the walking group" too (two words at least:
        # "art" alone names nothing).
        short = _GENERIC_TAIL.sub("", plain.strip())
        shorter = (short,) if short != plain.strip() and (
            len(short.split()) >= 2 or len(short) >= DISTINCT_NAME_CHARS) else ()
        for name in (plain, *shorter, *_PARENTHESES.findall(title)):
            key = name_key(name)
            if key and len(key.split()) <= MAX_NAME_WORDS:
                names.setdefault(key, set()).add(doc_id)
    # "Play therapy for children" is named by "play therapy" too, unless that names
    # another page already ("CBT for insomnia" is not "CBT").
    for doc_id, title in titles:
        head = _FOR_WHOM.split(_PARENTHESES.sub(" ", title).strip())[0]
        key = name_key(head)
        if key != name_key(title) and len(key.split()) >= 2 and key not in names:
            names[key] = {doc_id}
    return names
