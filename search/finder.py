"""Finding a treatment page by what someone types in the A–Z: its name (in part, or
misspelt: "psycosis"), or what the page is about ("dementia", "talking therapy").

Names are matched first: a part of the title or file name, then a word within two edits
of a title word or an acronym ("psycosis" → psychosis, "emdr"). What a page is about comes
from the search itself (the domain vocabulary and the model), so "dementia" finds the
memory assessment page, which names dementia without having it in its title.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from search.retrieval import Searcher

#: A typed word this close to a title word (difflib's ratio) counts as that word.
CLOSE_WORD = 0.8
#: Pages about the words typed, at most, from the search.
ABOUT_PAGES = 5
#: A page is about the words typed when a passage of it is at least this similar to them:
#: unrelated texts score about 0.24 with this model (README, "Scale"), nonsense typed
#: into the A–Z ("xyzzy") at most 0.16 here, "dementia" 0.57 on the memory assessment page.
ABOUT_SIMILARITY = 0.3
#: ... and nearly as similar as the best page: "dementia" is the memory assessment page's
#: topic (0.57) and a passing word in CBT's (0.32), which is not what was looked for.
ABOUT_MARGIN = 0.15
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Found:
    #: Pages whose name matches what was typed, in A–Z order.
    by_name: tuple[str, ...]
    #: Other pages about it, best first.
    about: tuple[str, ...]


def find_treatments(searcher: Searcher, typed: str) -> Found:
    """The pages for ``typed``; every page when nothing is typed."""
    documents = searcher.snapshot.documents
    titles = {d: s.document.title for d, s in documents.items()}
    wanted = " ".join(typed.lower().split())[:200]  # a name or a topic, not a letter
    ordered = sorted(titles, key=lambda d: titles[d].lower())
    if not wanted:
        return Found(tuple(ordered), ())
    by_name = tuple(d for d in ordered if name_matches(wanted, titles[d], d))
    best: dict[str, float] = {}  # page → its closest passage
    if any(len(w) > 2 for w in _WORD.findall(wanted)):
        query = searcher.analyse(wanted)
        vector = searcher.query_vector(query)
        for hit in searcher.search(query, 10, vector=vector):
            close = hit.similarity if hit.similarity is not None else -1.0
            best[hit.chunk.doc_id] = max(close, best.get(hit.chunk.doc_id, -1.0))
    top = max(best.values(), default=0.0)
    about = [d for d, close in sorted(best.items(), key=lambda item: -item[1])
             if close >= max(ABOUT_SIMILARITY, top - ABOUT_MARGIN) and d not in by_name]
    return Found(by_name, tuple(about[:ABOUT_PAGES]))


def name_matches(wanted: str, title: str, source: str) -> bool:
    name = title.lower()
    if wanted in name or wanted in source.lower():
        return True
    words = set(_WORD.findall(name))
    typed = [w for w in _WORD.findall(wanted) if len(w) >= 4]
    return bool(typed) and all(
        difflib.get_close_matches(word, words, n=1, cutoff=CLOSE_WORD) for word in typed)
