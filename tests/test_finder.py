"""The A–Z finder (``search.finder``): names, misspelt names, and what a page is about."""

from __future__ import annotations

from pathlib import Path

import pytest

from search.finder import find_treatments, name_matches


@pytest.mark.parametrize(("typed", "title", "source", "matches"), [
    ("cbt", "Cognitive behavioural therapy (CBT)", "cognitive-behavioural-therapy.md", True),
    ("psycosis", "CBT for psychosis", "cbt-for-psychosis.md", True),
    ("mindfullness", "Mindfulness-based cognitive therapy (MBCT)", "mbct.md", True),
    ("councelling", "Counselling", "counselling.md", True),
    ("psycosis", "Psychodynamic therapy", "psychodynamic-therapy.md", False),
    ("art", "Art therapy", "art-therapy.html", True),
    ("dementia", "Memory assessment", "memory-assessment.md", False),  # by name: no
])
def test_names_match_in_part_or_misspelt(typed: str, title: str, source: str,
                                         matches: bool) -> None:
    assert name_matches(typed, title, source) is matches


@pytest.mark.model
@pytest.mark.parametrize(("typed", "expected", "where"), [
    ("dementia", "memory-assessment.md", "about"),
    ("psycosis", "early-intervention-in-psychosis.md", "by_name"),
    ("talking therapy", "counselling.md", "about"),
    ("kids", "camhs-assessment.md", "about"),
])
def test_the_finder_finds_what_people_type(shipped_index: Path, embedder,  # type: ignore[no-untyped-def]
                                           typed: str, expected: str, where: str) -> None:
    from search import open_index
    from search.retrieval import Searcher

    found = find_treatments(Searcher(open_index(shipped_index), embedder), typed)
    assert expected in getattr(found, where), found


@pytest.mark.model
def test_nonsense_finds_nothing_and_nothing_typed_lists_every_page(shipped_index: Path,
                                                                   embedder) -> None:  # type: ignore[no-untyped-def]
    from search import open_index
    from search.retrieval import Searcher

    searcher = Searcher(open_index(shipped_index), embedder)
    assert find_treatments(searcher, "xyzzy qwfp") == find_treatments(searcher, "zzz") \
        == find_treatments(searcher, "xyzzy")
    assert not find_treatments(searcher, "xyzzy").by_name
    assert not find_treatments(searcher, "xyzzy").about
    every = find_treatments(searcher, "  ")
    assert len(every.by_name) == len(searcher.snapshot.documents) and not every.about
